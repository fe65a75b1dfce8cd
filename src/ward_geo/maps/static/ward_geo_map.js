/* ward_geo map runtime: incident clusters, heatmap, hotspots, patrol routes, legend and
 * time slider on top of Leaflet. Every string it receives was HTML-escaped by ward_geo
 * before being embedded, so it is inserted as HTML without further processing. */
(function (global) {
  "use strict";
  var L = global.L;
  var WG = {};

  function el(tag, cls, parent) {
    var node = L.DomUtil.create(tag, cls || "", parent);
    return node;
  }

  /* ---- shared incident state with period filtering ---------------------------------- */
  WG.incidents = function (data) {
    var state = {
      data: data,
      unit: data.default_unit,
      period: -1,
      listeners: [],
      n: data.lat.length
    };
    state.periodOf = function (i) {
      return state.unit === "week" ? data.pw[i] : data.pm[i];
    };
    state.periods = function () {
      return state.unit === "week" ? data.weeks : data.months;
    };
    state.visible = function (i) {
      return state.period < 0 || state.periodOf(i) === state.period;
    };
    state.catOn = function (c) {
      return !state.enabled || !!state.enabled[c];
    };
    state.onChange = function (fn) {
      state.listeners.push(fn);
    };
    var pendingChange = null;
    /* category toggles: one refresh of every layer after a burst of changes */
    state.changed = function () {
      if (pendingChange !== null) return;
      pendingChange = setTimeout(function () {
        pendingChange = null;
        for (var k = 0; k < state.listeners.length; k++) state.listeners[k](state);
      }, 0);
    };
    state.setPeriod = function (unit, period) {
      state.unit = unit;
      state.period = period;
      for (var k = 0; k < state.listeners.length; k++) {
        state.listeners[k](state);
      }
    };
    state.popup = function (i) {
      var cat = data.cats[data.c[i]];
      var parts = [
        '<div class="wg-popup"><b>' + cat.label + "</b>",
        "<div>" + data.labels.when + ": " + data.t[i] + "</div>",
        "<div>" + data.labels.id + ": " + data.id[i] + "</div>"
      ];
      if (data.d[i]) {
        parts.push('<div class="wg-desc">' + data.d[i] + "</div>");
      }
      parts.push("</div>");
      return parts.join("");
    };
    return state;
  };

  /* ---- incidents: one shared marker-cluster group, one toggle per category ------------ */
  function clusterGroup(state) {
    var data = state.data;
    var group = L.markerClusterGroup({
      chunkedLoading: true,
      chunkInterval: 150,
      showCoverageOnHover: false,
      maxClusterRadius: 60,
      disableClusteringAtZoom: 19,
      iconCreateFunction: function (cluster) {
        var count = cluster.getChildCount();
        var size = count < 10 ? 28 : count < 100 ? 34 : count < 1000 ? 40 : 48;
        var level = count < 10 ? "s" : count < 100 ? "m" : count < 1000 ? "l" : "xl";
        return L.divIcon({
          className: "wg-cluster wg-cluster-" + level,
          html: "<div style=\"width:" + size + "px;height:" + size + "px;line-height:" + size + "px\">" + count + "</div>",
          iconSize: [size, size]
        });
      }
    });
    var icons = [];
    for (var c = 0; c < data.cats.length; c++) {
      icons.push(L.divIcon({
        className: "wg-dot",
        html: "<span style=\"background:" + data.cats[c].colour + "\"></span>",
        iconSize: [12, 12]
      }));
    }
    var markers = null;
    function refresh() {
      if (markers === null) {
        markers = new Array(state.n);
        for (var i = 0; i < state.n; i++) {
          markers[i] = L.marker([data.lat[i], data.lon[i]], { icon: icons[data.c[i]], wgIndex: i, keyboard: false });
        }
      }
      group.clearLayers();
      var chosen = [];
      for (var k = 0; k < state.n; k++) {
        if (state.enabled[data.c[k]] && state.visible(k)) chosen.push(markers[k]);
      }
      group.addLayers(chosen);
      state.shown = chosen.length;
      var any = false;
      for (var key in state.enabled) { if (state.enabled[key]) { any = true; } }
      if (state.map) {
        if (any && !state.map.hasLayer(group)) state.map.addLayer(group);
        if (!any && state.map.hasLayer(group)) state.map.removeLayer(group);
      }
    }
    group.on("click", function (e) {
      var i = e.layer.options.wgIndex;
      if (!e.layer.getPopup()) e.layer.bindPopup(state.popup(i), { maxWidth: 320 });
      e.layer.openPopup();
    });
    state.onChange(refresh);
    return group;
  }

  WG.categoryLayer = function (state, catIndex) {
    if (!state.cluster) {
      state.enabled = {};
      state.cluster = clusterGroup(state);
    }
    var Toggle = L.Layer.extend({
      onAdd: function (map) {
        state.map = map;
        state.enabled[catIndex] = true;
        state.changed();
        return this;
      },
      onRemove: function () {
        state.enabled[catIndex] = false;
        state.changed();
        return this;
      }
    });
    return new Toggle();
  };

  /* ---- heatmap ------------------------------------------------------------------------ */
  WG.heatLayer = function (state, options) {
    var data = state.data;
    function points() {
      var out = [];
      for (var i = 0; i < state.n; i++) {
        if (state.visible(i) && state.catOn(data.c[i])) out.push([data.lat[i], data.lon[i], data.cats[data.c[i]].weight]);
      }
      return out;
    }
    var layer = L.heatLayer(points(), options);
    state.onChange(function () {
      layer.setLatLngs(points());
    });
    return layer;
  };

  /* ---- street network (vector basemap) ------------------------------------------------- */
  WG.streets = function (streets, options) {
    var renderer = L.canvas({ padding: 0.3 });
    var group = L.featureGroup([], { attribution: options.attribution });
    group.options.attribution = options.attribution;
    L.polyline(streets.minor, {
      renderer: renderer, color: "#b8b8b8", weight: 1, opacity: 0.9, interactive: false
    }).addTo(group);
    for (var k = 0; k < streets.major.length; k++) {
      var s = streets.major[k];
      var line = L.polyline(s.coords, {
        renderer: renderer, color: "#8a8a8a", weight: s.weight, opacity: 0.9
      });
      if (s.name) line.bindTooltip(s.name, { sticky: true, className: "wg-street-tip" });
      line.addTo(group);
    }
    return group;
  };

  /* ---- ward boundaries --------------------------------------------------------------- */
  WG.boundaries = function (geojson, options) {
    var layer = L.geoJSON(geojson, {
      attribution: options.attribution,
      style: function (f) {
        return {
          color: "#37474f", weight: f.properties.focus ? 3 : 1.5, opacity: 0.9,
          fill: true, fillOpacity: options.choropleth ? f.properties.fill_opacity : 0.02,
          fillColor: options.choropleth ? "#c62828" : "#90a4ae", dashArray: f.properties.focus ? null : "4 3"
        };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.label, {
          permanent: !!f.properties.permanent, direction: "center", className: "wg-ward-label"
        });
        if (f.properties.popup) l.bindPopup(f.properties.popup);
      }
    });
    return layer;
  };

  /* ---- hotspot polygons -------------------------------------------------------------- */
  WG.hotspots = function (state, geojson) {
    var group = L.featureGroup();
    var items = [];
    L.geoJSON(geojson, {
      style: function (f) { return f.properties.style; },
      onEachFeature: function (f, l) {
        l.bindPopup(f.properties.popup, { maxWidth: 360 });
        l.bindTooltip(f.properties.tooltip, { sticky: true });
        items.push({ layer: l, p: f.properties });
      }
    });
    function refresh() {
      group.clearLayers();
      for (var k = 0; k < items.length; k++) {
        var p = items[k].p;
        var lo = state.unit === "week" ? p.w0 : p.m0;
        var hi = state.unit === "week" ? p.w1 : p.m1;
        if (state.period < 0 || (state.period >= lo && state.period <= hi)) group.addLayer(items[k].layer);
      }
    }
    refresh();
    state.onChange(refresh);
    return group;
  };

  /* ---- patrol plan ------------------------------------------------------------------- */
  WG.patrol = function (plan) {
    var group = L.featureGroup();
    for (var r = 0; r < plan.routes.length; r++) {
      var route = plan.routes[r];
      L.polyline(route.coords, { color: route.colour, weight: 4, opacity: 0.85, dashArray: "10 6" })
        .bindTooltip(route.label, { sticky: true })
        .addTo(group);
    }
    for (var s = 0; s < plan.stops.length; s++) {
      var stop = plan.stops[s];
      var icon = L.divIcon({
        className: "wg-stop",
        html: '<span style="border-color:' + stop.colour + '">' + stop.order + "</span>",
        iconSize: [22, 22]
      });
      L.marker([stop.lat, stop.lon], { icon: icon, keyboard: false, zIndexOffset: 1000 })
        .bindPopup(stop.popup)
        .addTo(group);
    }
    return group;
  };

  /* ---- static HTML controls (legend, info box) ------------------------------------- */
  WG.htmlControl = function (map, html, position, cls) {
    var Ctl = L.Control.extend({
      onAdd: function () {
        var div = el("div", "wg-box " + cls);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var ctl = new Ctl({ position: position });
    ctl.addTo(map);
    return ctl;
  };

  /* ---- time slider -------------------------------------------------------------------- */
  WG.timeSlider = function (map, state, labels) {
    var data = state.data;
    var Ctl = L.Control.extend({
      onAdd: function () {
        var div = el("div", "wg-box wg-time");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        var head = el("div", "wg-time-head", div);
        var play = el("button", "wg-play", head);
        play.type = "button";
        play.textContent = "\u25B6";
        play.title = labels.play;
        var unit = el("select", "wg-unit", head);
        var units = [["month", labels.month], ["week", labels.week]];
        for (var u = 0; u < units.length; u++) {
          var opt = el("option", "", unit);
          opt.value = units[u][0];
          opt.textContent = units[u][1];
          if (units[u][0] === state.unit) opt.selected = true;
        }
        var label = el("span", "wg-time-label", head);
        var range = el("input", "wg-range", div);
        range.type = "range";
        range.min = "-1";
        range.step = "1";
        var timer = null;
        function sync() {
          var periods = state.periods();
          range.max = String(periods.length - 1);
          var k = parseInt(range.value, 10);
          label.textContent = k < 0 ? labels.all : periods[k];
          state.setPeriod(unit.value, k);
        }
        function stop() {
          if (timer !== null) { clearInterval(timer); timer = null; }
          play.textContent = "\u25B6";
        }
        range.value = "-1";
        range.addEventListener("input", function () { stop(); sync(); });
        unit.addEventListener("change", function () { stop(); range.value = "-1"; sync(); });
        play.addEventListener("click", function () {
          if (timer !== null) { stop(); return; }
          play.textContent = "\u23F8";
          timer = setInterval(function () {
            var k = parseInt(range.value, 10) + 1;
            if (k > parseInt(range.max, 10)) { stop(); return; }
            range.value = String(k);
            sync();
          }, 1500);
        });
        range.max = String(state.periods().length - 1);
        label.textContent = labels.all;
        this._range = range;
        this._unit = unit;
        this._sync = sync;
        return div;
      }
    });
    var ctl = new Ctl({ position: "bottomleft" });
    ctl.addTo(map);
    /* programmatic access for tests and embedding pages */
    ctl.select = function (unitName, k) {
      ctl._unit.value = unitName;
      ctl._range.max = String((unitName === "week" ? data.weeks : data.months).length - 1);
      ctl._range.value = String(k);
      ctl._sync();
    };
    return ctl;
  };

  global.WardGeo = WG;
})(window);
