// The upload panel's field mapping: the server's preview of a file (POST
// /layers/{slug}/import/preview) drawn as a choice of source field per field of the kind, and of a
// kind's value per source value, from which the mapping JSON of the import is built. The kind's
// fields and allowed values come from the preview: the app holds no copy of them.
import { t, label, fieldLabel, formatNumber } from "./i18n.js";
import { el } from "./ui.js";

const AS_IT_IS = ""; // a value select left here maps nothing: the value goes as it came
const EMPTY = "\u0000empty"; // ...and this one leaves the field empty (null in the mapping)

export class MappingEditor {
  constructor(onChange) {
    this.box = el("div", { id: "upload-mapping", class: "upload-mapping", hidden: true });
    this.onChange = onChange; // asked to preview again once a source field changes
    this.report = null;
  }

  clear() {
    this.report = null;
    this.box.hidden = true;
    this.box.replaceChildren();
  }

  // The mapping the selects say, as the server reads it; null before any preview.
  mapping() {
    if (!this.report) return null;
    const fields = {};
    const values = {};
    for (const select of this.box.querySelectorAll("select[data-field]")) {
      if (select.value) fields[select.dataset.field] = select.value;
    }
    for (const select of this.box.querySelectorAll("select[data-value-of]")) {
      if (select.value === AS_IT_IS) continue;
      const field = select.dataset.valueOf;
      (values[field] ||= {})[select.dataset.value] = select.value === EMPTY ? null : select.value;
    }
    return { fields, values };
  }

  show(report) {
    this.report = report;
    const rows = report.fields.flatMap((field) => this.fieldRow(field, report.source_fields));
    const summary = t("upload.mapping_summary", { n: report.features, features: formatNumber(report.features, 0), refused: formatNumber(report.refused_features, 0) });
    this.box.replaceChildren(...[
      el("h4", {}, t("upload.mapping_title")),
      report.mapping_from === "layer" && el("p", { class: "hint" }, t("upload.mapping_reused")),
      el("table", { class: "mapping-table" },
        el("thead", {}, el("tr", {}, el("th", {}, t("upload.mapping_field")), el("th", {}, t("upload.mapping_source")))),
        el("tbody", {}, rows)),
      el("p", { class: report.refused_features ? "mapping-summary refused" : "mapping-summary" }, summary),
      report.kept_fields.length > 0 && el("p", { class: "hint" }, t("upload.mapping_kept", { fields: report.kept_fields.join(", ") })),
    ].filter(Boolean));
    this.box.hidden = false;
  }

  fieldRow(field, sources) {
    const id = `upload-map-${field.field}`;
    const select = el("select", { id, dataset: { field: field.field } },
      el("option", { value: "" }, t("upload.mapping_none")),
      ...sources.map((source) => el("option", { value: source, selected: source === field.source }, source)));
    select.addEventListener("change", () => this.onChange());
    const cells = [el("td", {}, el("label", { for: id }, fieldLabel(field.field))), el("td", {}, select)];
    const row = el("tr", { dataset: { mapField: field.field } }, cells);
    if (!field.source || !(field.allowed || field.mapped_values?.length)) return row;
    return [row, el("tr", { class: "mapping-values" }, el("td", { colspan: 2 }, this.valueList(field)))];
  }

  // One line per distinct source value (the most frequent first): its count, and the value of
  // the kind it becomes; a value the kind would refuse says why.
  valueList(field) {
    const refused = new Map((field.refused_values || []).map((r) => [r.value, r.message]));
    const values = [
      ...field.mapped_values.map((v) => ({ value: v.value, count: v.count, to: v.to })),
      ...(field.unmapped_values || []).map((v) => ({ value: v.value, count: v.count, to: undefined })),
    ].sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
    // The kind's values, and those the mapping gives a field that allows any.
    const targets = [...new Set([...(field.allowed || []), ...values.map((v) => v.to).filter((to) => typeof to === "string")])];
    const items = values.map((v) => {
      const options = [
        el("option", { value: AS_IT_IS, selected: v.to === undefined }, t("upload.mapping_as_is")),
        el("option", { value: EMPTY, selected: v.to === null }, t("upload.mapping_empty")),
        ...targets.map((value) => el("option", { value, selected: v.to === value }, label(field.field, value))),
      ];
      const select = el("select", { dataset: { valueOf: field.field, value: v.value }, "aria-label": t("upload.mapping_value", { value: v.value }) }, options);
      const why = refused.get(v.value);
      return el("li", { class: why ? "refused" : undefined, dataset: { value: v.value } },
        el("span", { class: "source-value" }, `${v.value} (${formatNumber(v.count, 0)})`), " → ", select,
        why ? el("span", { class: "why" }, t("upload.mapping_refused", { message: why })) : null);
    });
    return el("ul", { class: "mapping-value-list" }, items);
  }
}
