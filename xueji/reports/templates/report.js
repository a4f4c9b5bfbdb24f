(function () {
  "use strict";

  var PAGE_SIZE = 50;
  var SEVERITY_RANK = { "严重": 0, "高": 1, "中": 2, "低": 3 };
  var MONO = { violation_id: 1, student_no: 1, id_number: 1, school_code: 1, county_code: 1, group_id: 1 };
  var WIDE = { detail: 1, dismissal_reason: 1 };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function compare(a, b, key) {
    if (a === b) { return 0; }
    if (a === null || a === undefined) { return 1; }
    if (b === null || b === undefined) { return -1; }
    if (key === "severity") {
      var ra = SEVERITY_RANK[a], rb = SEVERITY_RANK[b];
      return (ra === undefined ? 9 : ra) - (rb === undefined ? 9 : rb);
    }
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b), "zh-CN", { numeric: true });
  }

  function FindingsTable(host, data) {
    this.host = host;
    this.columns = data.columns;
    this.rows = data.rows;
    this.keys = this.columns.map(function (c) { return c.key; });
    this.query = "";
    this.selects = {};
    this.sortIndex = -1;
    this.sortDir = 1;
    this.page = 0;
    this.haystack = null;
    this.view = this.rows;
    this.build();
    this.apply();
  }

  FindingsTable.prototype.distinct = function (key) {
    var i = this.keys.indexOf(key);
    if (i < 0) { return []; }
    var seen = {};
    this.rows.forEach(function (r) { if (r[i] !== null && r[i] !== undefined) { seen[r[i]] = 1; } });
    return Object.keys(seen).sort(function (a, b) { return compare(a, b, key); });
  };

  FindingsTable.prototype.build = function () {
    var self = this;
    var bar = el("div", { "class": "toolbar" });
    var search = el("input", { type: "search", placeholder: "筛选：姓名、学校、学籍号、说明…", "aria-label": "筛选" });
    search.addEventListener("input", function () { self.query = search.value.trim().toLowerCase(); self.page = 0; self.apply(); });
    bar.appendChild(search);
    [["county_code", "全部区县"], ["change", "全部变化"], ["severity", "全部严重程度"]].forEach(function (pair) {
      var values = self.distinct(pair[0]);
      if (values.length < 2) { return; }
      var select = el("select", { "aria-label": pair[1], "data-key": pair[0] });
      select.appendChild(el("option", { value: "" }, pair[1]));
      values.forEach(function (v) { select.appendChild(el("option", { value: v }, v)); });
      select.addEventListener("change", function () { self.selects[pair[0]] = select.value; self.page = 0; self.apply(); });
      bar.appendChild(select);
    });
    this.status = el("span", { "class": "status" });
    bar.appendChild(this.status);

    var wrap = el("div", { "class": "table-wrap" });
    var table = el("table", { "class": "findings" });
    var thead = el("thead");
    var tr = el("tr");
    this.headers = this.columns.map(function (col, i) {
      var th = el("th", { scope: "col", "data-key": col.key, title: "点击排序" }, col.label);
      var arrow = el("span", { "class": "arrow" }, "");
      th.appendChild(arrow);
      th.addEventListener("click", function () { self.sortBy(i); });
      tr.appendChild(th);
      return { th: th, arrow: arrow };
    });
    thead.appendChild(tr);
    table.appendChild(thead);
    this.tbody = el("tbody");
    table.appendChild(this.tbody);
    wrap.appendChild(table);

    var pager = el("div", { "class": "pager" });
    this.prev = el("button", { type: "button" }, "上一页");
    this.next = el("button", { type: "button" }, "下一页");
    this.pageLabel = el("span");
    this.prev.addEventListener("click", function () { self.page -= 1; self.render(); });
    this.next.addEventListener("click", function () { self.page += 1; self.render(); });
    pager.appendChild(this.prev);
    pager.appendChild(this.pageLabel);
    pager.appendChild(this.next);

    this.host.appendChild(bar);
    this.host.appendChild(wrap);
    this.host.appendChild(pager);
  };

  FindingsTable.prototype.sortBy = function (i) {
    this.sortDir = this.sortIndex === i ? -this.sortDir : 1;
    this.sortIndex = i;
    this.page = 0;
    this.apply();
  };

  FindingsTable.prototype.apply = function () {
    var self = this;
    var rows = this.rows;
    if (this.query) {
      if (!this.haystack) {
        // Built on first use: one lower-case string per row, so typing stays fast.
        this.haystack = this.rows.map(function (r) { return r.join("\u0001").toLowerCase(); });
      }
      var q = this.query, hay = this.haystack;
      rows = rows.filter(function (r, i) { return hay[i].indexOf(q) >= 0; });
    }
    Object.keys(this.selects).forEach(function (key) {
      var wanted = self.selects[key];
      var i = self.keys.indexOf(key);
      if (wanted && i >= 0) { rows = rows.filter(function (r) { return String(r[i]) === wanted; }); }
    });
    if (this.sortIndex >= 0) {
      var si = this.sortIndex, key = this.keys[si], dir = this.sortDir;
      rows = rows.slice().sort(function (a, b) { return dir * compare(a[si], b[si], key); });
    }
    this.headers.forEach(function (h, i) {
      h.th.classList.toggle("sorted", i === self.sortIndex);
      h.arrow.textContent = i === self.sortIndex ? (self.sortDir > 0 ? "▲" : "▼") : "";
      h.th.setAttribute("aria-sort", i === self.sortIndex ? (self.sortDir > 0 ? "ascending" : "descending") : "none");
    });
    this.view = rows;
    this.render();
  };

  FindingsTable.prototype.render = function () {
    var self = this;
    var pages = Math.max(1, Math.ceil(this.view.length / PAGE_SIZE));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    var start = this.page * PAGE_SIZE;
    var slice = this.view.slice(start, start + PAGE_SIZE);
    var body = el("tbody");
    var changeIndex = this.keys.indexOf("change");
    slice.forEach(function (r) {
      var tr = el("tr");
      if (changeIndex >= 0 && r[changeIndex] === "已核销") { tr.className = "is-dismissed"; }
      r.forEach(function (v, i) {
        var key = self.keys[i];
        var td = el("td");
        if (MONO[key]) { td.className = "mono"; }
        if (WIDE[key]) { td.className = "wide"; }
        if (self.columns[i].type === "number") { td.className = "n"; }
        if (v === null || v === undefined) {
          td.textContent = "";
        } else if (key === "severity") {
          td.appendChild(el("span", { "class": "sev sev-" + v }, v));
        } else if (key === "change") {
          td.appendChild(el("span", { "class": "chg chg-" + v }, v));
        } else {
          td.textContent = String(v);
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    this.tbody.parentNode.replaceChild(body, this.tbody);
    this.tbody = body;
    var total = this.rows.length, shown = this.view.length;
    this.status.textContent = shown === total
      ? "共 " + total.toLocaleString("zh-CN") + " 条"
      : "筛选出 " + shown.toLocaleString("zh-CN") + " 条 / 共 " + total.toLocaleString("zh-CN") + " 条";
    this.pageLabel.textContent = shown
      ? "第 " + (start + 1).toLocaleString("zh-CN") + "–" + (start + slice.length).toLocaleString("zh-CN") + " 条，第 " + (this.page + 1) + " / " + pages + " 页"
      : "没有符合条件的问题";
    this.prev.disabled = this.page <= 0;
    this.next.disabled = this.page >= pages - 1;
  };

  var tables = {};

  function ensureTable(panel) {
    var rule = panel.getAttribute("data-rule");
    if (tables[rule]) { return tables[rule]; }
    var host = panel.querySelector(".findings-table");
    var source = document.getElementById(host.getAttribute("data-source"));
    tables[rule] = new FindingsTable(host, JSON.parse(source.textContent));
    return tables[rule];
  }

  function showTab(rule, scroll) {
    var panel = document.getElementById("rule-" + rule);
    if (!panel) { return; }
    document.querySelectorAll(".tab").forEach(function (t) {
      var on = t.getAttribute("data-tab") === rule;
      t.classList.toggle("active", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
    });
    document.querySelectorAll(".tab-panel").forEach(function (p) { p.classList.toggle("active", p === panel); });
    ensureTable(panel);
    if (scroll) { document.getElementById("details").scrollIntoView({ behavior: "smooth" }); }
  }

  document.querySelectorAll(".tab").forEach(function (tab) {
    tab.addEventListener("click", function () { showTab(tab.getAttribute("data-tab"), false); });
  });
  document.querySelectorAll("a[data-tab]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      showTab(link.getAttribute("data-tab"), true);
    });
  });
  var first = document.querySelector(".tab-panel.active");
  if (first) { ensureTable(first); }
  window.xuejiReport = { tables: tables, showTab: showTab };
})();
