"""Credential records: programmes with the EU micro-credential elements, learners,
enrolments and awards, and their imports from CSV and Open Badges 3.0."""
