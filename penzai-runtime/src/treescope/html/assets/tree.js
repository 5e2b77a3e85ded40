// penzai treescope: the tree viewer. Reads the JSON island of each `.pzt` root and builds
// the DOM lazily (a closed node's children exist only once it is opened). All user text
// goes through textContent; one delegated listener per root handles every interaction.
(function () {
  'use strict';
  var PZ = (window.PZ = window.PZ || {});
  var MORE_STEP = 100;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // Paths are keys concatenated, as KeyPath prints them: the first field has no dot.
  function joinPath(parent, key) {
    if (key == null) return '';
    return parent === '' && key.charAt(0) === '.' ? key.slice(1) : parent + key;
  }

  function keyLabel(key) {
    return key.charAt(0) === '.' ? key.slice(1) : key;
  }

  function shortCount(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(2) + 'B';
    if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
    if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return String(n);
  }

  var CHILD_WORD = { struct: 'field', sequence: 'item', map: 'entry' };
  var BADGE = { selected: 'selected', inserted: '+ inserted', removed: '\u2212 removed', changed: '~ changed' };

  function View(root) {
    this.root = root;
    var island = root.querySelector('script.pzt-data');
    var data = JSON.parse(island.textContent);
    this.shown = data.shown || 20;
    this.types = data.types || {};
    this.fieldsets = data.fieldsets || [];
    this.nodes = [];
    this.hits = [];
    this.hitAt = -1;
    this.flatten(data.root, -1, '', 0, 0);
    this.box = root.querySelector('.pzt-tree');
    this.hover = root.querySelector('.pzt-hover');
    this.copied = root.querySelector('.pzt-copied');
    this.found = root.querySelector('.pzt-found');
    this.search = root.querySelector('.pzt-search');
    this.box.appendChild(this.render(0));
    var self = this;
    root.addEventListener('click', function (ev) { self.onClick(ev); });
    root.addEventListener('mouseover', function (ev) { self.onHover(ev); });
    root.addEventListener('keydown', function (ev) {
      if ((ev.key === 'Enter' || ev.key === ' ') && ev.target.classList.contains('pzt-tog')) {
        ev.preventDefault();
        var i = Number(ev.target.closest('.pzt-n').getAttribute('data-i'));
        self.setOpen(i, !self.nodes[i].open);
      }
    });
    var timer = null;
    this.search.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.find(self.search.value); }, 120);
    });
    this.search.addEventListener('keydown', function (ev) {
      if (ev.key !== 'Enter') return;
      ev.preventDefault();
      clearTimeout(timer);
      if (self.query !== self.search.value) self.find(self.search.value);
      else self.nextHit();
    });
    var firstMarked = this.nodes.find(function (n) { return n.d.mark === 'selected'; });
    if (firstMarked && firstMarked.el) firstMarked.el.scrollIntoView({ block: 'center' });
    root.setAttribute('data-ready', '1');
  }

  // The island writes shared things once (see `island.rs`): put the defaults back.
  View.prototype.fill = function (d) {
    var t = this.types[d.type] || {};
    if (d.kind == null) d.kind = t.kind || 'struct';
    if (d.layer == null) d.layer = t.layer === true;
    if (d.hue === undefined) d.hue = t.hue;
    if (typeof d.fields === 'number') d.fields = this.fieldsets[d.fields];
  };

  View.prototype.flatten = function (d, parent, parentPath, depth, pos) {
    this.fill(d);
    var i = this.nodes.length;
    var n = { d: d, parent: parent, path: joinPath(parentPath, d.key), depth: depth, pos: pos,
      kids: [], el: null, box: null, rendered: 0, limit: this.shown, open: d.open === true, heat: null };
    this.nodes.push(n);
    var cs = d.children || [];
    for (var c = 0; c < cs.length; c++) n.kids.push(this.flatten(cs[c], i, n.path, depth + 1, c));
    return i;
  };

  View.prototype.hasKids = function (n) { return n.kids.length > 0 || (n.d.omitted || 0) > 0; };

  View.prototype.render = function (i) {
    var n = this.nodes[i], d = n.d;
    var node = el('div', 'pzt-n');
    node.setAttribute('data-i', String(i));
    if (d.mark) node.classList.add('pzt-m-' + d.mark);
    var h = el('div', 'pzt-h');
    var tog = el('span', this.hasKids(n) ? 'pzt-tog' : 'pzt-sp');
    if (this.hasKids(n)) {
      // Keyboard users reach the toggle with Tab and flip it with Enter or Space.
      tog.tabIndex = 0;
      tog.setAttribute('role', 'button');
      tog.setAttribute('aria-label', 'expand or collapse');
    }
    h.appendChild(tog);
    if (d.key != null) {
      h.appendChild(el('span', 'pzt-k', keyLabel(d.key) + ':'));
    }
    h.appendChild(el('span', 'pzt-t', d.type));
    if (d.hue != null) {
      node.classList.add('pzt-hued');
      node.style.setProperty('--h', String(d.hue));
    }
    if (d.fields && d.fields.length) {
      var parts = d.fields.map(function (f) { return f[0] + '=' + f[1]; });
      h.appendChild(el('span', 'pzt-f', '(' + parts.join(', ') + ')'));
    }
    if (d.value != null) {
      var v = el('span', 'pzt-v', '= ' + d.value);
      if (d.value.charAt(0) === '"') v.classList.add('pzt-str');
      h.appendChild(v);
    }
    if (d.summary != null) h.appendChild(el('span', 'pzt-s', d.summary));
    if (d.array && d.array.label) h.appendChild(el('span', 'pzt-s', 'label ' + JSON.stringify(d.array.label)));
    if (this.hasKids(n)) {
      var count = n.kids.length + (d.omitted || 0);
      var word = CHILD_WORD[d.kind] || 'child';
      var plural = word === 'entry' ? 'entries' : word === 'child' ? 'children' : word + 's';
      h.appendChild(el('span', 'pzt-cnt', '{' + count + ' ' + (count === 1 ? word : plural) + '}'));
    }
    if (d.params && d.kind !== 'array') h.appendChild(el('span', 'pzt-par', '# ' + shortCount(d.params) + ' params'));
    if (d.mark) h.appendChild(el('span', 'pzt-badge', BADGE[d.mark] || d.mark));
    var copy = el('button', 'pzt-copy', 'copy path');
    copy.setAttribute('data-act', 'copy');
    copy.title = 'Copy the path of this node';
    h.appendChild(copy);
    if (d.array && d.array.preview) {
      var hb = el('button', 'pzt-heatbtn', 'heatmap');
      hb.setAttribute('data-act', 'heat');
      h.appendChild(hb);
    }
    node.appendChild(h);
    if (d.array && d.array.tokens) {
      var tb = el('div', 'pzk pzt-tokens');
      node.appendChild(tb);
      PZ.tokens.mount(tb, d.array.tokens);
    }
    n.el = node;
    if (d.array && d.array.heatmap_open && d.array.preview) this.toggleHeat(i);
    this.applyOpen(i);
    return node;
  };

  // Shows or hides children per `open`, creating the children's DOM on first opening.
  View.prototype.applyOpen = function (i) {
    var n = this.nodes[i];
    if (!n.el || !this.hasKids(n)) return;
    n.el.classList.toggle('pzt-open', n.open);
    if (n.open) {
      if (!n.box) {
        n.box = el('div', 'pzt-c');
        n.el.appendChild(n.box);
      }
      if (n.rendered < Math.min(n.limit, n.kids.length)) this.renderKids(i);
    }
    // Hidden descendants that already have DOM are kept in step too.
    for (var k = 0; k < n.rendered; k++) this.applyOpen(n.kids[k]);
  };

  View.prototype.renderKids = function (i) {
    var n = this.nodes[i];
    var old = n.box.querySelector(':scope > .pzt-more');
    if (old) old.remove();
    var end = Math.min(n.limit, n.kids.length);
    for (var k = n.rendered; k < end; k++) n.box.appendChild(this.render(n.kids[k]));
    n.rendered = end;
    var hidden = n.kids.length - end;
    if (hidden > 0) {
      var more = el('div', 'pzt-more', '\u2026 ' + hidden + ' more');
      more.setAttribute('data-act', 'more');
      n.box.appendChild(more);
    } else if (n.d.omitted) {
      n.box.appendChild(el('div', 'pzt-more pzt-gone', '\u2026 ' + n.d.omitted + ' more not included in this page'));
    }
  };

  View.prototype.setOpen = function (i, open) {
    this.nodes[i].open = open;
    this.applyOpen(i);
  };

  View.prototype.toggleHeat = function (i) {
    var n = this.nodes[i];
    var btn = n.el.querySelector(':scope > .pzt-h > .pzt-heatbtn');
    if (n.heat) {
      var showing = n.heat.style.display !== 'none';
      n.heat.style.display = showing ? 'none' : '';
      if (btn) btn.classList.toggle('pzt-on', !showing);
      return;
    }
    n.heat = el('div', 'pzt-heat');
    n.el.insertBefore(n.heat, n.el.children[1] || null);
    if (btn) btn.classList.add('pzt-on');
    PZ.arrayviz.mount(n.heat, n.d.array.preview);
  };

  View.prototype.copyPath = function (i) {
    var p = this.nodes[i].path;
    // The status line keeps the copied text readable (and testable) whatever the clipboard does.
    this.copied.textContent = 'copied: ' + (p === '' ? '(root: empty path)' : p);
    this.copied.setAttribute('data-path', p);
    try {
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(p).catch(function () {});
    } catch (e) { /* clipboard unavailable: the status line has the text */ }
  };

  View.prototype.reveal = function (i) {
    var chain = [];
    for (var a = this.nodes[i].parent, c = i; a >= 0; c = a, a = this.nodes[a].parent) chain.push([a, c]);
    for (var k = chain.length - 1; k >= 0; k--) {
      var anc = this.nodes[chain[k][0]], pos = this.nodes[chain[k][1]].pos;
      if (pos >= anc.limit) anc.limit = pos + 1;
      this.setOpen(chain[k][0], true);
    }
  };

  View.prototype.find = function (q) {
    this.query = q;
    this.hits.forEach(function (n) { if (n.el) n.el.classList.remove('pzt-hit'); });
    this.hits = [];
    this.hitAt = -1;
    q = q.trim().toLowerCase();
    if (!q) { this.found.textContent = ''; return; }
    for (var i = 0; i < this.nodes.length; i++) {
      var n = this.nodes[i];
      if (n.path.toLowerCase().indexOf(q) >= 0 || n.d.type.toLowerCase().indexOf(q) >= 0) this.hits.push(n);
    }
    // Opening the ancestors of thousands of hits would build the whole tree: cap it.
    var shown = this.hits.slice(0, 200);
    for (var h = 0; h < shown.length; h++) {
      this.reveal(this.nodes.indexOf(shown[h]));
      if (shown[h].el) shown[h].el.classList.add('pzt-hit');
    }
    this.found.textContent = this.hits.length + (this.hits.length === 1 ? ' match' : ' matches') +
      (this.hits.length > shown.length ? ' (first ' + shown.length + ' opened)' : '');
    this.nextHit();
  };

  View.prototype.nextHit = function () {
    var open = this.hits.filter(function (n) { return n.el; });
    if (!open.length) return;
    this.hitAt = (this.hitAt + 1) % open.length;
    open[this.hitAt].el.scrollIntoView({ block: 'nearest' });
  };

  View.prototype.setAll = function (pred) {
    for (var i = 0; i < this.nodes.length; i++) this.nodes[i].open = pred(this.nodes[i]);
    this.applyOpen(0);
  };

  View.prototype.onClick = function (ev) {
    var t = ev.target;
    var act = t.closest('[data-act]');
    var nodeEl = t.closest('.pzt-n');
    var i = nodeEl ? Number(nodeEl.getAttribute('data-i')) : -1;
    var a = act ? act.getAttribute('data-act') : null;
    if (a === 'expand-all') this.setAll(function () { return true; });
    else if (a === 'collapse-all') this.setAll(function (n) { return n.depth === 0; });
    else if (a === 'depth') {
      var depth = Math.max(0, parseInt(this.root.querySelector('.pzt-depth').value, 10) || 0);
      this.setAll(function (n) { return n.depth < depth; });
    } else if (a === 'copy' && i >= 0) this.copyPath(i);
    else if (a === 'heat' && i >= 0) this.toggleHeat(i);
    else if (a === 'more' && i >= 0) {
      var n = this.nodes[i];
      n.limit = n.rendered + MORE_STEP;
      this.renderKids(i);
      for (var k = 0; k < n.rendered; k++) this.applyOpen(n.kids[k]);
    } else if (!a && i >= 0 && t.closest('.pzt-h') && this.hasKids(this.nodes[i])) {
      if (window.getSelection && String(window.getSelection()).length) return;
      this.setOpen(i, !this.nodes[i].open);
    }
  };

  View.prototype.onHover = function (ev) {
    var nodeEl = ev.target.closest('.pzt-n');
    if (!nodeEl || !this.root.contains(nodeEl)) return;
    var n = this.nodes[Number(nodeEl.getAttribute('data-i'))];
    this.hover.textContent = n.path === '' ? '(root)' : n.path;
    this.hover.setAttribute('data-path', n.path);
  };

  PZ.mountTrees = function () {
    var roots = document.querySelectorAll('.pzt:not([data-ready])');
    for (var r = 0; r < roots.length; r++) {
      try {
        roots[r].pztView = new View(roots[r]);
      } catch (e) {
        roots[r].setAttribute('data-ready', 'error');
        roots[r].appendChild(el('pre', 'pza-err', 'treescope: ' + e));
        throw e;
      }
    }
  };
  PZ.mountTrees();
})();
