"use strict";
// The evidence panel: a click on a rule shows the rollouts it cites and their critiques. Every stored text is
// untrusted, so it is only ever written with textContent, never as HTML.
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const panel = document.getElementById("evidence-body");
  const title = document.getElementById("evidence-title");

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function field(list, name, value, pre) {
    if (value === undefined || value === null || value === "") return;
    list.appendChild(el("dt", name));
    const dd = el("dd");
    dd.appendChild(el(pre ? "pre" : "span", value));
    list.appendChild(dd);
  }

  function critiqueBox(c) {
    const box = el("div", null, "critique");
    const head = el("div", null, "muted");
    head.textContent = "judge " + c.judge + ": " + (c.failure_mode || "?") + ", verdict " + (c.verdict || "?") +
      (c.code_verdict ? " (code: " + c.code_verdict + ")" : "") + (c.flags ? " [" + c.flags + "]" : "");
    box.appendChild(head);
    box.appendChild(el("div", c.critique, "critique-text"));
    if (c.suggested_rule) box.appendChild(el("div", "suggested rule: " + c.suggested_rule, "muted"));
    return box;
  }

  function evidenceItem(ref) {
    const item = el("div", null, "evidence-item");
    const ev = Object.prototype.hasOwnProperty.call(data.evidence, ref) ? data.evidence[ref] : null;
    if (!ev) {
      item.appendChild(el("div", ref + ": not a stored rollout of this run", "muted"));
      return item;
    }
    item.appendChild(el("strong", ref + " (" + ev.split + ", v" + ev.version + ", example " + ev.example +
      ", score " + ev.score + ")"));
    const list = el("dl");
    field(list, "input", ev.input, true);
    field(list, "target", ev.target, true);
    field(list, "output", ev.output, true);
    field(list, "scorer", ev.reason, false);
    item.appendChild(list);
    if (ev.critiques.length === 0) item.appendChild(el("div", "no critique stored for this rollout", "muted"));
    ev.critiques.forEach(function (c) { item.appendChild(critiqueBox(c)); });
    return item;
  }

  function show(button) {
    document.querySelectorAll("button.rule.active").forEach(function (b) { b.classList.remove("active"); });
    button.classList.add("active");
    const refs = (button.dataset.refs || "").split(" ").filter(Boolean);
    title.textContent = button.dataset.title || "evidence";
    panel.replaceChildren();
    if (refs.length === 0) {
      panel.appendChild(el("p", "This rule cites no rollouts.", "muted"));
      return;
    }
    refs.forEach(function (ref) { panel.appendChild(evidenceItem(ref)); });
  }

  document.querySelectorAll("button.rule").forEach(function (button) {
    button.addEventListener("click", function () { show(button); });
  });
})();
