// The policy form's phrase lists as rows to add and remove. Without this
// script each list is a textarea, one phrase a line, and works the same:
// the rows only write their phrases back into that textarea.
(function () {
  "use strict";

  function rowFor(list, text, textarea) {
    const row = document.createElement("li");
    const input = document.createElement("input");
    input.value = text;
    input.setAttribute("aria-label", textarea.dataset.rowLabel || "用語");
    input.addEventListener("input", () => sync(list, textarea));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        const next = rowFor(list, "", textarea);
        row.after(next);
        next.querySelector("input").focus();
      }
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove-row";
    remove.textContent = "刪除";
    remove.setAttribute("aria-label", "刪除「" + (text || "空白") + "」");
    remove.addEventListener("click", () => {
      const focusNext = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      sync(list, textarea);
      if (focusNext) focusNext.querySelector("input").focus();
    });
    row.append(input, remove);
    return row;
  }

  function sync(list, textarea) {
    const phrases = Array.from(list.querySelectorAll("input"), (i) => i.value.trim()).filter(Boolean);
    textarea.value = phrases.join("\n");
    const count = textarea.closest("details")?.querySelector("summary .count");
    if (count) count.textContent = phrases.length + " 句";
  }

  function enhance(textarea) {
    if (textarea.disabled || textarea.closest("fieldset:disabled")) return;
    const list = document.createElement("ol");
    list.className = "phrase-rows";
    for (const line of textarea.value.split("\n")) {
      if (line.trim()) list.append(rowFor(list, line.trim(), textarea));
    }
    const add = document.createElement("button");
    add.type = "button";
    add.className = "add-row";
    add.textContent = "＋ " + (textarea.dataset.addLabel || "新增");
    add.addEventListener("click", () => {
      const row = rowFor(list, "", textarea);
      list.append(row);
      row.querySelector("input").focus();
    });
    textarea.hidden = true;
    textarea.after(list, add);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("textarea.phrase-list").forEach(enhance);
  });
})();
