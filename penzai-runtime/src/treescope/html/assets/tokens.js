// penzai treescope: token views. Draws a spec made by Rust (rows of ids, the text of each
// id, an optional score scale) as text chips; hover shows the id, the piece and the score.
// All text goes through textContent; one delegated listener per figure.
(function () {
  'use strict';
  var PZ = (window.PZ = window.PZ || {});

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // Scores that JSON cannot hold arrive as "NaN", "Infinity", "-Infinity".
  function num(v) { return typeof v === 'string' ? Number(v) : v; }

  function fmt(v) {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? '+inf' : '-inf';
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
    return String(Number(v.toPrecision(5)));
  }

  // Background for a score: the heatmaps' colormap, magenta for NaN (as in heatmaps).
  function colour(scale, v) {
    if (Number.isNaN(v)) return [255, 0, 255];
    var span = scale.vmax - scale.vmin;
    var t = span > 0 ? (v - scale.vmin) / span : 0.5;
    t = Math.min(1, Math.max(0, t));
    return PZ.arrayviz.rgb(scale.cmap, t);
  }

  // Dark text on light colours, light text on dark ones.
  function ink(rgb) {
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 128 ? '#111' : '#fff';
  }

  function Figure(box, spec) {
    this.box = box;
    this.spec = spec;
    this.entries = {};
    for (var i = 0; i < spec.tokens.length; i++) this.entries[spec.tokens[i].id] = spec.tokens[i];
    box.textContent = '';
    var scale = spec.scale;
    if (spec.title) box.appendChild(el('div', 'pzk-title', spec.title));
    var caption = 'tokens ' + spec.shape;
    if (scale) caption += ' \u00b7 ' + scale.label + ' coloured from ' + fmt(scale.vmin) + ' to ' + fmt(scale.vmax);
    box.appendChild(el('div', 'pzk-caption', caption));
    for (var r = 0; r < spec.rows.length; r++) box.appendChild(this.row(spec.rows[r], r));
    if (spec.omitted_rows) box.appendChild(el('div', 'pzk-more', '\u2026 ' + spec.omitted_rows + ' more rows'));
    this.tip = el('div', 'pzk-tip');
    box.appendChild(this.tip);
    var self = this;
    box.addEventListener('mouseover', function (ev) { self.onHover(ev); });
    box.addEventListener('mouseleave', function () { self.tip.style.display = 'none'; });
    box.setAttribute('data-ready', '1');
  }

  Figure.prototype.row = function (row, r) {
    var line = el('div', 'pzk-row');
    if (row.label) line.appendChild(el('span', 'pzk-label', row.label + ':'));
    var chips = el('span', 'pzk-chips');
    for (var i = 0; i < row.ids.length; i++) {
      var e = this.entries[row.ids[i]];
      var chip = el('span', 'pzk-tok', e.shown);
      chip.setAttribute('data-r', String(r));
      chip.setAttribute('data-k', String(i));
      if (e.special) chip.classList.add('pzk-special');
      if (e.escaped) chip.classList.add('pzk-esc');
      if (e.unknown) chip.classList.add('pzk-unknown');
      if (row.scores) {
        var rgb = colour(this.spec.scale, num(row.scores[i]));
        chip.classList.add('pzk-scored');
        chip.style.backgroundColor = 'rgb(' + rgb.join(',') + ')';
        chip.style.color = ink(rgb);
      }
      chips.appendChild(chip);
    }
    if (row.omitted) chips.appendChild(el('span', 'pzk-more', '\u2026 ' + row.omitted + ' more'));
    line.appendChild(chips);
    return line;
  };

  // The hover text of chip `k` of row `r`.
  Figure.prototype.describe = function (r, k) {
    var row = this.spec.rows[r], e = this.entries[row.ids[k]];
    var lines = ['id ' + e.id + (e.special ? ' (special)' : '') + (e.unknown ? ' (not in the vocabulary)' : '')];
    if (!e.unknown) lines.push('piece ' + JSON.stringify(e.piece));
    lines.push((row.label ? row.label + ', ' : '') + 'position ' + k);
    if (row.scores) lines.push(this.spec.scale.label + ': ' + fmt(num(row.scores[k])));
    return lines.join('\n');
  };

  Figure.prototype.onHover = function (ev) {
    var chip = ev.target.closest('.pzk-tok');
    if (!chip || !this.box.contains(chip)) { this.tip.style.display = 'none'; return; }
    this.tip.textContent = this.describe(Number(chip.getAttribute('data-r')), Number(chip.getAttribute('data-k')));
    this.tip.setAttribute('data-r', chip.getAttribute('data-r'));
    this.tip.setAttribute('data-k', chip.getAttribute('data-k'));
    var rect = chip.getBoundingClientRect();
    this.tip.style.left = Math.round(rect.left) + 'px';
    this.tip.style.top = Math.round(rect.bottom + 4) + 'px';
    this.tip.style.display = 'block';
  };

  PZ.tokens = {
    mount: function (box, spec) {
      try {
        box.pzkFigure = new Figure(box, spec);
      } catch (e) {
        box.textContent = '';
        box.appendChild(el('div', 'pza-err', 'could not draw the tokens: ' + e));
        box.setAttribute('data-ready', 'error');
        throw e;
      }
    },
  };

  var boxes = document.querySelectorAll('.pzk:not([data-ready])');
  for (var i = 0; i < boxes.length; i++) {
    var island = boxes[i].querySelector('script.pzk-spec');
    if (island) PZ.tokens.mount(boxes[i], JSON.parse(island.textContent));
  }
})();
