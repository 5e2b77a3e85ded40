// penzai treescope: heatmaps of named-axis arrays. Draws a spec made by Rust (axis roles,
// kept entries, colour range, encoded values) on a canvas; handles hover, sliders, zoom.
(function () {
  'use strict';
  var PZ = (window.PZ = window.PZ || {});
  var QMAX = 250; // one-byte encoding: levels 0..250, then NaN, +inf, -inf
  var CMAX = 60; // one-character encoding: levels 0..60, then NaN, +inf, -inf
  var CELLS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // ---- colour ----------------------------------------------------------------------
  // OKLCH -> sRGB bytes, so every ramp is even in perceived lightness.
  function oklch(L, C, hDeg) {
    var h = (hDeg * Math.PI) / 180, a = C * Math.cos(h), b = C * Math.sin(h);
    var l = L + 0.3963377774 * a + 0.2158037573 * b;
    var m = L - 0.1055613458 * a - 0.0638541728 * b;
    var s = L - 0.0894841775 * a - 1.291485548 * b;
    l = l * l * l; m = m * m * m; s = s * s * s;
    var lin = [
      4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
      -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
      -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
    ];
    return lin.map(function (x) {
      x = Math.min(1, Math.max(0, x));
      var g = x <= 0.0031308 ? 12.92 * x : 1.055 * Math.pow(x, 1 / 2.4) - 0.055;
      return Math.round(g * 255);
    });
  }

  // 256-entry lookup tables for the two continuous maps.
  function ramp(fn) {
    var lut = new Uint8Array(256 * 3);
    for (var i = 0; i < 256; i++) {
      var c = fn(i / 255);
      lut[3 * i] = c[0]; lut[3 * i + 1] = c[1]; lut[3 * i + 2] = c[2];
    }
    return lut;
  }
  var LUTS = {
    // Dark violet through teal to pale yellow.
    sequential: ramp(function (t) { return oklch(0.2 + 0.75 * t, 0.08 + 0.07 * Math.sin(Math.PI * t), 300 - 195 * t); }),
    // Blue below zero, near-white at zero, red above.
    diverging: ramp(function (t) {
      var u = Math.abs(t - 0.5) * 2;
      return t < 0.5 ? oklch(0.97 - 0.5 * u, 0.17 * u, 255) : oklch(0.97 - 0.45 * u, 0.19 * u, 27);
    }),
  };
  var SPECIAL = { nan: [255, 0, 255], masked: [150, 150, 150], gap: [232, 232, 236], sep: [255, 255, 255], gapInk: [178, 178, 186] };

  function categorical(v, kind) {
    if (kind === 'bool') return v ? [40, 78, 160] : [226, 228, 233];
    if (v === 0) return [240, 240, 240];
    // Golden-angle hue steps keep neighbouring integers far apart on the wheel.
    return oklch(0.72 - 0.12 * (Math.abs(v) % 3) / 2, 0.13, (Math.abs(v) * 137.508) % 360);
  }

  // ---- decoding ----------------------------------------------------------------------
  function bytesOf(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }
  // `q6`: one character per cell, the last one repeated up to `n` cells.
  function cellsOf(p, n) {
    var s = p.cells, lo = p.lo, step = (p.hi - p.lo) / CMAX, out = new Float64Array(n);
    var special = [NaN, Infinity, -Infinity];
    for (var i = 0; i < n; i++) {
      var c = CELLS.indexOf(s.charAt(Math.min(i, s.length - 1)));
      if (c < 0) throw new Error('bad cell code at ' + i);
      out[i] = c <= CMAX ? lo + c * step : special[c - CMAX - 1];
    }
    return out;
  }
  // Every encoding decodes to a Float64Array holding NaN and infinities natively; `n` is
  // the number of cells.
  function decode(p, n) {
    if (p.enc === 'q6') return Promise.resolve(cellsOf(p, n));
    if (p.enc === 'json') {
      var out = new Float64Array(p.values.length);
      for (var i = 0; i < out.length; i++) {
        var v = p.values[i];
        out[i] = v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
      }
      return Promise.resolve(out);
    }
    var raw = bytesOf(p.b64);
    return (p.z ? inflate(raw) : Promise.resolve(raw)).then(function (b) {
      var buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      if (p.enc === 'f32') return Float64Array.from(new Float32Array(buf));
      if (p.enc === 'i32') return Float64Array.from(new Int32Array(buf));
      if (p.enc === 'f64') return new Float64Array(buf);
      if (p.enc === 'u8') return Float64Array.from(b);
      var lo = p.lo, step = (p.hi - p.lo) / QMAX, q = new Float64Array(b.length);
      for (var i = 0; i < b.length; i++) {
        var c = b[i];
        q[i] = c <= QMAX ? lo + c * step : c === 251 ? NaN : c === 252 ? Infinity : -Infinity;
      }
      return q;
    });
  }

  function fmt(v) {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return '+inf';
    if (v === -Infinity) return '-inf';
    if (Number.isInteger(v)) return String(v);
    return String(+v.toPrecision(6));
  }

  // ---- layout ------------------------------------------------------------------------
  // Payload positions drawn along an axis, with -1 standing for the truncated middle.
  function positions(ax) {
    var out = [], kept = ax.head + ax.tail;
    for (var p = 0; p < ax.head; p++) out.push(p);
    if (kept < ax.size) out.push(-1);
    for (p = ax.head; p < kept; p++) out.push(p);
    return out;
  }
  function original(ax, p) { return p < ax.head ? p : ax.size - ax.tail + (p - ax.head); }

  // The lines of one side: arrays of payload positions per side axis (outermost first),
  // or null for the gap between facets.
  function sideLines(spec, side) {
    var out = [];
    if (!side.length) return [[]];
    (function rec(level, coords) {
      var ax = spec.axes[side[level]], ps = positions(ax);
      for (var j = 0; j < ps.length; j++) {
        if (level < side.length - 1 && j > 0) out.push(null);
        coords[level] = ps[j];
        if (level === side.length - 1 || ps[j] === -1) {
          var line = coords.slice(0, level + 1);
          while (line.length < side.length) line.push(-1);
          out.push(line);
        } else rec(level + 1, coords);
      }
    })(0, []);
    return out;
  }

  // ---- figure ------------------------------------------------------------------------
  function Figure(box, spec, values, mask) {
    spec.sliders = spec.sliders || [];
    this.box = box; this.spec = spec; this.values = values; this.mask = mask;
    this.rows = sideLines(spec, spec.rows);
    this.cols = sideLines(spec, spec.cols);
    this.strides = [];
    var s = 1;
    for (var a = spec.axes.length - 1; a >= 0; a--) {
      this.strides[a] = s;
      s *= spec.axes[a].head + spec.axes[a].tail;
    }
    this.slider = spec.sliders.map(function () { return 0; });
    this.zoom = spec.zoom || 4;
    // Internal pixels per cell: large enough for the glyphs, small enough for memory.
    var longest = Math.max(this.rows.length, this.cols.length);
    this.cp = Math.max(1, Math.min(7, Math.floor(2048 / longest)));
    this.build();
    this.draw();
  }

  Figure.prototype.build = function () {
    var spec = this.spec, self = this, box = this.box;
    box.textContent = '';
    if (spec.title) box.appendChild(el('div', 'pza-title', spec.title));
    var label = function (side) {
      return side.map(function (a) { var ax = spec.axes[a]; return ax.label + ' (' + ax.size + ')'; }).join(' \u00d7 ') || '\u2014';
    };
    box.appendChild(el('div', 'pza-axes', 'rows: ' + label(spec.rows) + '   columns: ' + label(spec.cols)));
    var scroll = el('div', 'pza-scroll');
    this.canvas = el('canvas', 'pza-canvas');
    this.canvas.width = Math.max(1, this.cols.length * this.cp);
    this.canvas.height = Math.max(1, this.rows.length * this.cp);
    scroll.appendChild(this.canvas);
    box.appendChild(scroll);
    this.tip = el('div', 'pza-tip');
    box.appendChild(this.tip);
    spec.sliders.forEach(function (a, k) {
      var ax = spec.axes[a], row = el('label', 'pza-slider');
      row.appendChild(el('span', null, ax.label));
      var input = el('input');
      input.type = 'range'; input.min = '0'; input.max = String(ax.head + ax.tail - 1); input.value = '0';
      input.setAttribute('data-axis', ax.label);
      var readout = el('span', 'pza-readout', '0 / ' + ax.size);
      input.addEventListener('input', function () {
        self.slider[k] = Number(input.value);
        readout.textContent = original(ax, self.slider[k]) + ' / ' + ax.size;
        self.draw();
      });
      row.appendChild(input); row.appendChild(readout);
      box.appendChild(row);
    });
    var info = el('div', 'pza-info');
    var legend = el('canvas', 'pza-legend');
    if (spec.cmap !== 'categorical') {
      legend.width = 120; legend.height = 1;
      var g = legend.getContext('2d'), img = g.createImageData(120, 1), lut = LUTS[spec.cmap];
      for (var x = 0; x < 120; x++) {
        var k = Math.round((x / 119) * 255);
        img.data.set([lut[3 * k], lut[3 * k + 1], lut[3 * k + 2], 255], 4 * x);
      }
      g.putImageData(img, 0, 0);
      info.appendChild(el('span', null, fmt(spec.vmin)));
      info.appendChild(legend);
      info.appendChild(el('span', null, fmt(spec.vmax) + '  (' + spec.cmap + ')'));
    } else info.appendChild(el('span', null, 'categorical colours by value'));
    var zoomLabel = el('label', null, 'zoom ');
    var zoom = el('input', 'pza-zoom');
    zoom.type = 'range'; zoom.min = '1'; zoom.max = '32'; zoom.value = String(this.zoom);
    zoom.addEventListener('input', function () { self.zoom = Number(zoom.value); self.resize(); });
    zoomLabel.appendChild(zoom);
    info.appendChild(zoomLabel);
    info.appendChild(el('span', null, 'hover for values'));
    box.appendChild(info);
    spec.axes.forEach(function (ax) {
      if (ax.head + ax.tail < ax.size) {
        box.appendChild(el('div', 'pza-note', ax.label + ': showing the first ' + ax.head + ' and last ' + ax.tail + ' of ' + ax.size + ' entries'));
      }
    });
    (spec.notes || []).forEach(function (n) { box.appendChild(el('div', 'pza-note', n)); });
    this.canvas.addEventListener('mousemove', function (ev) { self.onMove(ev); });
    this.canvas.addEventListener('mouseleave', function () { self.tip.style.display = 'none'; });
    this.resize();
  };

  Figure.prototype.resize = function () {
    this.canvas.style.width = this.cols.length * this.zoom + 'px';
    this.canvas.style.height = this.rows.length * this.zoom + 'px';
  };

  // What the cell at (row line, column line) shows: null for gaps, else its offset.
  Figure.prototype.cell = function (r, c) {
    var rl = this.rows[r], cl = this.cols[c], spec = this.spec;
    if (rl === null || cl === null) return { sep: true };
    var off = 0, k;
    for (k = 0; k < rl.length; k++) { if (rl[k] < 0) return { gap: true }; off += rl[k] * this.strides[spec.rows[k]]; }
    for (k = 0; k < cl.length; k++) { if (cl[k] < 0) return { gap: true }; off += cl[k] * this.strides[spec.cols[k]]; }
    for (k = 0; k < spec.sliders.length; k++) off += this.slider[k] * this.strides[spec.sliders[k]];
    return { off: off };
  };

  Figure.prototype.colorOf = function (v, masked) {
    var spec = this.spec;
    if (masked) return [SPECIAL.masked, 'mask'];
    if (Number.isNaN(v)) return [SPECIAL.nan, 'nan'];
    if (spec.cmap === 'categorical') return [categorical(v, spec.kind), null];
    var lut = LUTS[spec.cmap], span = spec.vmax - spec.vmin;
    var t = span > 0 ? (v - spec.vmin) / span : 0.5, glyph = null;
    if (v === Infinity) glyph = 'pinf'; else if (v === -Infinity) glyph = 'ninf';
    else if (t > 1) glyph = 'above'; else if (t < 0) glyph = 'below';
    var k = Math.round(Math.min(1, Math.max(0, t)) * 255);
    return [[lut[3 * k], lut[3 * k + 1], lut[3 * k + 2]], glyph];
  };

  Figure.prototype.draw = function () {
    var W = this.canvas.width, H = this.canvas.height, cp = this.cp;
    var g = this.canvas.getContext('2d'), img = g.createImageData(W, H), px = img.data;
    for (var r = 0; r < this.rows.length; r++) {
      for (var c = 0; c < this.cols.length; c++) {
        var cell = this.cell(r, c), rgb, glyph = null;
        if (cell.sep) rgb = SPECIAL.sep;
        else if (cell.gap) { rgb = SPECIAL.gap; glyph = 'gap'; }
        else {
          var cg = this.colorOf(this.values[cell.off], this.mask && !this.mask[cell.off]);
          rgb = cg[0]; glyph = cg[1];
        }
        for (var y = 0; y < cp; y++) {
          var base = ((r * cp + y) * W + c * cp) * 4;
          for (var x = 0; x < cp; x++) {
            var o = base + 4 * x, ink = glyph && cp >= 4 && this.glyphPixel(glyph, x, y, cp);
            var col = !ink ? rgb : ink === 2 ? [255, 255, 255] : ink === 3 ? SPECIAL.gapInk : this.ink(rgb);
            px[o] = col[0]; px[o + 1] = col[1]; px[o + 2] = col[2]; px[o + 3] = 255;
          }
        }
      }
    }
    g.putImageData(img, 0, 0);
    this.box.setAttribute('data-ready', '1');
  };

  // Contrasting ink for glyphs: black on light cells, white on dark ones.
  Figure.prototype.ink = function (rgb) {
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 140 ? [0, 0, 0] : [255, 255, 255];
  };

  // Which pixels of a cell a glyph inks (1: contrasting ink, 2: white, 3: soft grey): x for NaN, + and -
  // bars for infinities, a corner for out of range, dots for masked, stripes for gaps.
  Figure.prototype.glyphPixel = function (glyph, x, y, cp) {
    var m = cp - 1, mid = m / 2;
    switch (glyph) {
      case 'nan': return x === y || x === m - y ? 2 : 0;
      case 'pinf': return Math.abs(x - mid) < 0.6 || Math.abs(y - mid) < 0.6 ? 1 : 0;
      case 'ninf': return Math.abs(y - mid) < 0.6 && x > 0 && x < m ? 1 : 0;
      case 'above': return x + (m - y) >= 2 * m - 1 ? 1 : 0;
      case 'below': return (m - x) + y >= 2 * m - 1 ? 1 : 0;
      case 'mask': return x % 2 === 1 && y % 2 === 1 ? 2 : 0;
      case 'gap': return (x + y) % 3 === 0 ? 3 : 0;
    }
    return 0;
  };

  Figure.prototype.onMove = function (ev) {
    var rect = this.canvas.getBoundingClientRect();
    var c = Math.floor(((ev.clientX - rect.left) / rect.width) * this.cols.length);
    var r = Math.floor(((ev.clientY - rect.top) / rect.height) * this.rows.length);
    if (r < 0 || c < 0 || r >= this.rows.length || c >= this.cols.length) return;
    var text = this.describe(r, c);
    if (!text) { this.tip.style.display = 'none'; return; }
    this.tip.textContent = text;
    this.tip.style.display = 'block';
    this.tip.style.left = ev.clientX + 12 + 'px';
    this.tip.style.top = ev.clientY + 12 + 'px';
  };

  // Tooltip text: the index by axis name, then the value and what is special about it.
  Figure.prototype.describe = function (r, c) {
    var spec = this.spec, cell = this.cell(r, c), parts = [];
    if (cell.sep) return '';
    var add = function (side, line) {
      for (var k = 0; k < side.length; k++) {
        var ax = spec.axes[side[k]];
        parts.push(ax.label + '=' + (line[k] < 0 ? ax.head + '..' + (ax.size - ax.tail - 1) + ' (not shown)' : original(ax, line[k])));
      }
    };
    add(spec.rows, this.rows[r]);
    add(spec.cols, this.cols[c]);
    for (var k = 0; k < spec.sliders.length; k++) {
      var ax = spec.axes[spec.sliders[k]];
      parts.push(ax.label + '=' + original(ax, this.slider[k]));
    }
    var text = parts.join(', ');
    if (cell.gap) return text + '\ntruncated';
    var v = this.values[cell.off];
    var quantized = spec.data.enc === 'q8' || spec.data.enc === 'q6';
    var approx = quantized && Number.isFinite(v) ? '\u2248' : '';
    text += '\nvalue: ' + approx + fmt(v);
    if (this.mask && !this.mask[cell.off]) text += '  (masked)';
    else if (v > spec.vmax && v !== Infinity && spec.cmap !== 'categorical') text += '  (above vmax ' + fmt(spec.vmax) + ')';
    else if (v < spec.vmin && v !== -Infinity && spec.cmap !== 'categorical') text += '  (below vmin ' + fmt(spec.vmin) + ')';
    return text;
  };

  // Draws `spec` into `box` once its values are decoded.
  PZ.arrayviz = {
    // The colour at `t` in [0, 1] of a continuous map, as [r, g, b] (token views use it).
    rgb: function (cmap, t) {
      var lut = LUTS[cmap] || LUTS.sequential, k = Math.round(Math.min(1, Math.max(0, t)) * 255);
      return [lut[3 * k], lut[3 * k + 1], lut[3 * k + 2]];
    },
    mount: function (box, spec) {
      box.setAttribute('data-ready', '0');
      box.textContent = 'drawing\u2026';
      // Axes travel as [label, size, head, tail].
      spec.axes = spec.axes.map(function (a) {
        return Array.isArray(a) ? { label: a[0], size: a[1], head: a[2], tail: a[3] } : a;
      });
      var n = spec.axes.reduce(function (k, a) { return k * (a.head + a.tail); }, 1);
      var jobs;
      try {
        jobs = [decode(spec.data, n), spec.mask ? decode(spec.mask, n) : Promise.resolve(null)];
      } catch (e) {
        jobs = [Promise.reject(e)];
      }
      return Promise.all(jobs)
        .then(function (res) { box.pzaFigure = new Figure(box, spec, res[0], res[1]); })
        .catch(function (e) {
          box.textContent = '';
          box.appendChild(el('div', 'pza-err', 'could not draw the array: ' + e));
          box.setAttribute('data-ready', 'error');
          console.error(e);
        });
    },
  };

  var boxes = document.querySelectorAll('.pza:not([data-ready])');
  for (var i = 0; i < boxes.length; i++) {
    var island = boxes[i].querySelector('script.pza-spec');
    if (island) PZ.arrayviz.mount(boxes[i], JSON.parse(island.textContent));
  }
})();
