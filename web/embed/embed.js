// The embeddable map: the layers named in ?layers= as vector (or raster) tiles over the basemap,
// with a legend and popups in French or English. Reads its settings from #embed-config.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("embed-config").textContent);
  var lang = config.lang === "en" ? "en" : "fr";

  var WORDS = {
    fr: {
      title_type: "Type de titre", status: "Statut", code: "Code", holder: "Titulaire",
      qualification: "Qualification", scale: "Échelle", activity_status: "Activité",
      consequence: "Classe de conséquence", rehabilitation: "Réhabilitation", hazards: "Dangers",
      name: "Nom", other: "Autre", unknown: "Inconnu",
      application: "Demande", active: "Actif", force_majeure: "Force majeure",
      renewal: "Renouvellement", expired: "Expiré", revoked: "Retiré", relinquished: "Renoncé",
      green: "Vert", yellow: "Jaune", red: "Rouge", not_assessed: "Non évalué",
      low: "Faible", significant: "Significative", high: "Élevée", very_high: "Très élevée",
      extreme: "Extrême", none: "Aucune", planned: "Prévue", in_progress: "En cours",
      completed: "Achevée", draft: "Brouillon", proposed: "Proposée",
      in_consultation: "En consultation", gazetted: "Publiée au JO", suspended: "Suspendue",
      retired: "Retirée", inactive: "Inactif", closed: "Fermé",
      care_and_maintenance: "Entretien et surveillance", artisanal: "Artisanale",
      small_scale: "Petite mine", large_scale: "Grande mine", seasonal: "Saisonnier",
      abandoned: "Abandonné", protected_area: "Aire protégée", river: "Cours d'eau",
      settlement: "Localité", forest: "Forêt", water_body: "Plan d'eau", road: "Route",
      admin_boundary: "Limite administrative", biodiversity: "Biodiversité",
      legend: "Légende", features: "Entités"
    },
    en: {
      title_type: "Title type", status: "Status", code: "Code", holder: "Holder",
      qualification: "Qualification", scale: "Scale", activity_status: "Activity",
      consequence: "Consequence class", rehabilitation: "Rehabilitation", hazards: "Hazards",
      name: "Name", other: "Other", unknown: "Unknown",
      application: "Application", active: "Active", force_majeure: "Force majeure",
      renewal: "Renewal", expired: "Expired", revoked: "Revoked", relinquished: "Relinquished",
      green: "Green", yellow: "Yellow", red: "Red", not_assessed: "Not assessed",
      low: "Low", significant: "Significant", high: "High", very_high: "Very high",
      extreme: "Extreme", none: "None", planned: "Planned", in_progress: "In progress",
      completed: "Completed", draft: "Draft", proposed: "Proposed",
      in_consultation: "In consultation", gazetted: "Gazetted", suspended: "Suspended",
      retired: "Retired", inactive: "Inactive", closed: "Closed",
      care_and_maintenance: "Care and maintenance", artisanal: "Artisanal",
      small_scale: "Small scale", large_scale: "Large scale", seasonal: "Seasonal",
      abandoned: "Abandoned", protected_area: "Protected area", river: "River",
      settlement: "Settlement", forest: "Forest", water_body: "Water body", road: "Road",
      admin_boundary: "Administrative boundary", biodiversity: "Biodiversity",
      legend: "Legend", features: "Features"
    }
  };
  function word(key) {
    if (key === null || key === undefined) { return ""; }
    var text = String(key);
    return WORDS[lang][text] || text.replace(/_/g, " ");
  }

  // Which property colours each kind, and the colour of each value (colour-blind safe ramps).
  var STYLES = {
    concession: { field: "status", colors: {
      application: "#9e9ac8", active: "#d95f0e", force_majeure: "#fdae6b", renewal: "#fd8d3c",
      expired: "#bdbdbd", revoked: "#969696", relinquished: "#d9d9d9" } },
    mine_site: { field: "qualification", colors: {
      green: "#1a9641", yellow: "#e6c300", red: "#d7191c", not_assessed: "#888888" } },
    tailings_facility: { field: "consequence", colors: {
      low: "#fcbba1", significant: "#fc9272", high: "#fb6a4a", very_high: "#de2d26",
      extreme: "#a50f15" } },
    abandoned_mine: { field: "rehabilitation", colors: {
      none: "#7b3294", planned: "#c2a5cf", in_progress: "#a6dba0", completed: "#008837" } },
    asm_zone: { field: "status", colors: {
      draft: "#bababa", proposed: "#80cdc1", in_consultation: "#35978f", gazetted: "#01665e",
      suspended: "#dfc27d", retired: "#8c510a" } }
  };
  var THEME_COLORS = {
    protected_area: "#31a354", biodiversity: "#74c476", forest: "#006d2c", river: "#3182bd",
    water_body: "#6baed6", settlement: "#333333", road: "#636363", admin_boundary: "#756bb1",
    other: "#fd8d3c"
  };
  var POPUP_FIELDS = {
    concession: ["code", "holder", "title_type", "status"],
    mine_site: ["code", "qualification", "scale", "activity_status"],
    tailings_facility: ["status", "consequence"],
    abandoned_mine: ["rehabilitation", "hazards"],
    asm_zone: ["code", "status"]
  };

  function colorOf(layer, properties) {
    var style = STYLES[layer.kind];
    if (!style) { return THEME_COLORS[layer.theme] || THEME_COLORS.other; }
    return style.colors[properties[style.field]] || "#666666";
  }

  function styleFor(layer) {
    return function (properties, zoom, dimension) {
      var color = colorOf(layer, properties);
      if (dimension === 1) {
        return { radius: zoom < 9 ? 4 : 6, color: "#ffffff", weight: 1, fill: true,
                 fillColor: color, fillOpacity: 0.9 };
      }
      if (dimension === 2) { return { color: color, weight: layer.theme === "river" ? 1.5 : 2 }; }
      return { color: color, weight: 1.5, fill: true, fillColor: color, fillOpacity: 0.25 };
    };
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  function popupHtml(layer, properties) {
    var fields = POPUP_FIELDS[layer.kind] || Object.keys(properties).filter(function (k) {
      return k !== "id" && k !== "name";
    });
    var rows = fields.filter(function (k) {
      return properties[k] !== undefined && properties[k] !== "";
    }).map(function (k) {
      var values = String(properties[k]).split(", ").map(word).join(", ");
      return "<tr><th>" + escapeHtml(word(k)) + "</th><td>" + escapeHtml(values) + "</td></tr>";
    });
    return "<div class=\"embed-popup\"><div class=\"title\">" +
      escapeHtml(properties.name || layer.title + " #" + properties.id) + "</div>" +
      "<div>" + escapeHtml(layer.title) + "</div><table>" + rows.join("") + "</table></div>";
  }

  var map = L.map("map", { zoomControl: true, attributionControl: true });
  L.tileLayer(config.basemap, {
    maxZoom: 19, attribution: "Natural Earth"
  }).addTo(map);

  var bounds = null;
  config.layers.forEach(function (layer) {
    var layerBounds = L.latLngBounds([layer.bounds[1], layer.bounds[0]],
                                     [layer.bounds[3], layer.bounds[2]]);
    bounds = bounds ? bounds.extend(layerBounds) : layerBounds;
    if (layer.storage === "raster") {
      L.tileLayer(layer.tiles, { attribution: layer.attribution, opacity: 0.8 }).addTo(map);
      return;
    }
    var styles = {};
    styles[layer.slug] = styleFor(layer);
    var grid = L.vectorGrid.protobuf(layer.tiles, {
      vectorTileLayerStyles: styles, interactive: true, maxNativeZoom: 18,
      attribution: layer.attribution,
      getFeatureId: function (feature) { return feature.properties.id; }
    });
    grid.on("click", function (event) {
      L.popup().setLatLng(event.latlng).setContent(popupHtml(layer, event.layer.properties))
        .openOn(map);
    });
    grid.addTo(map);
  });

  if (config.bbox) {
    map.fitBounds([[config.bbox[1], config.bbox[0]], [config.bbox[3], config.bbox[2]]]);
  } else if (bounds && bounds.isValid()) {
    map.fitBounds(bounds, { maxZoom: 14 });
  } else {
    map.setView([0, 0], 2);
  }

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "embed-legend");
    div.setAttribute("aria-label", word("legend"));
    config.layers.forEach(function (layer) {
      var html = "<h4>" + escapeHtml(layer.title) + "</h4>";
      var style = STYLES[layer.kind];
      var entries = style ? Object.keys(style.colors).map(function (value) {
        return [word(value), style.colors[value]];
      }) : layer.storage === "raster" ? [] : [[word(layer.theme || "other"), colorOf(layer, {})]];
      entries.forEach(function (entry) {
        html += "<div class=\"row\"><span class=\"swatch\" style=\"background:" + entry[1] +
          "\"></span>" + escapeHtml(entry[0]) + "</div>";
      });
      div.insertAdjacentHTML("beforeend", html);
    });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);
  window.embedMap = map;
})();
