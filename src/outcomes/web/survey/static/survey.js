// Progressive enhancement: show or hide questions whose show_if reads an answer on the same
// page, as the graduate answers. The page works without it (the server applies the rules).
(function () {
  var form = document.querySelector("form[data-section]");
  var summary = document.querySelector("[data-summary]");
  if (summary) summary.focus();
  if (!form) return;
  var earlier = JSON.parse(document.getElementById("answers").textContent || "{}");
  function value(name) {
    var fields = form.querySelectorAll('[name="' + name + '"]');
    if (!fields.length) return earlier[name];
    var out = [];
    fields.forEach(function (f) {
      if ((f.type === "radio" || f.type === "checkbox") && !f.checked) return;
      if (f.value !== "") out.push(f.value);
    });
    if (fields[0].type === "checkbox") return out.length ? out : undefined;
    var v = out[0];
    if (v === "yes") return true;
    if (v === "no") return false;
    if (v !== undefined && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
    return v;
  }
  // The rules of instruments/expressions.py: an unanswered question makes every comparison
  // false; a multiple choice equals a value when it contains it.
  function eq(a, b) {
    if (Array.isArray(a)) return a.some(function (x) { return eq(x, b); });
    if (Array.isArray(b)) return b.some(function (x) { return eq(a, x); });
    return typeof a === typeof b && a === b;
  }
  function ev(n) {
    var l, r;
    switch (n.op) {
      case "lit": return n.value;
      case "name": return value(n.id);
      case "answered": l = value(n.id); return l !== undefined && l !== "";
      case "not": return !test(n.operand);
      case "and": return n.operands.every(test);
      case "or": return n.operands.some(test);
      case "in":
        l = ev(n.operand);
        if (l === undefined) return false;
        r = n.values.some(function (v) { return eq(l, v); });
        return n.negated ? !r : r;
      default:
        l = ev(n.left); r = ev(n.right);
        if (l === undefined || r === undefined) return false;
        if (n.op === "==") return eq(l, r);
        if (n.op === "!=") return !eq(l, r);
        if (typeof l !== typeof r || (typeof l !== "number" && typeof l !== "string")) return false;
        return {"<": l < r, "<=": l <= r, ">": l > r, ">=": l >= r}[n.op];
    }
  }
  function test(n) { return ev(n) === true; }
  var dependants = form.querySelectorAll("[data-show-if]");
  function update() {
    dependants.forEach(function (q) { q.hidden = !test(JSON.parse(q.getAttribute("data-show-if"))); });
  }
  form.addEventListener("change", update);
  update();
})();
