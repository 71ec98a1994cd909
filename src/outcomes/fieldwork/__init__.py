"""Survey fieldwork: personal links, the graduate's survey as a service, invitations."""
