"""What every analysis shares: finding a layer by slug, turning property filters into SQL, and
naming the features of each side in the rows (the label and the attributes carried along).

Filters are CQL2 (text or JSON) or `{property: value}` equality maps (a list value means any
of them), compiled as every channel compiles them:

    >>> sql, params = property_filter("status IN ('active', 'renewal')", "f", "s")
    >>> params
    {'s_0': 'status', 's_1': 'active', 's_2': 'renewal'}

A side's rows name features by an attribute and carry the attributes asked for:

    >>> naming = Naming.of(session, layer, "target", label="Code", fields=["Parties"])
    >>> naming.ref(17, "PE 2019/044", {"Code": "PE 2019/044", "Parties": "SOMIKA"})
    {'id': 17, 'name': 'PE 2019/044', 'properties': {'Parties': 'SOMIKA'}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store import catalog, cql2
from geo_service.store.catalog import LayerRecord
from geo_service.store.sensitivity import EXACT, Mask, mask_for

Filter = str | dict[str, Any]
# Attributes carried into the rows: the names listed, "*" for all, None for none.
Fields = list[str] | Literal["*"] | None

# The attributes that name a feature when it has no display name, first found wins (files name
# their features as they please: a cadastre export has `Code`, a Shapefile `NOM` or `NAME`).
DEFAULT_LABELS = ("name", "nom", "NAME", "NOM", "Name", "Nom", "code", "Code", "CODE")


_STORAGES = {"vector": msg("storage.vector"), "raster": msg("storage.raster")}


def _storage(storage: str) -> str:
    """A layer's storage said in the reader's language."""
    return _STORAGES.get(storage, storage)


def layer_ref(
    session: Session, slug: str, who: Principal, storage: str | None = "vector"
) -> LayerRecord:
    """The layer named `slug` if `who` may read it (the one lookup, store/catalog.py);
    UnknownLayer if not (or if there is none), InvalidInput if its storage is not `storage`."""
    (ref,) = catalog.lookup(session.connection(), [slug], who)
    if storage is not None and ref.storage != storage:
        raise InvalidInput(
            msg("analysis.storage", layer=slug, storage=_storage(ref.storage),
                needed=_storage(storage)),
            where={"layer": slug},
        )  # fmt: skip
    return ref


_FEATURE_LAYER = """
SELECT l.slug FROM features f JOIN layers l ON l.id = f.layer_id
 WHERE f.id = :id AND {visible}
"""


def check_exact_area(session: Session, feature_id: int, who: Principal, where: Any) -> None:
    """InvalidInput when `who` sees the location of feature `feature_id` generalised: an
    analysis over its shape (a zone screened, a region searched) would draw that shape. A
    feature `who` may not read is left to the analysis, which knows it as unknown."""
    readable, access = visible(who, "l")
    slug = session.scalar(
        text(_FEATURE_LAYER.replace("{visible}", readable)), {**access, "id": feature_id}
    )
    if slug is not None and mask_for(layer_ref(session, slug, who, None), who).grid_m is not None:
        raise InvalidInput(
            msg("sensitivity.generalised_area", id=feature_id, layer=slug), where=where
        )


def seen_geometry(mask: Mask, alias: str = "f") -> str | None:
    """SQL of the geometry a side's spatial filter tests: the generalised one when the caller
    sees the layer generalised (its `mask` parameters bound with the query), else None."""
    return None if mask.grid_m is None else mask.geometry(f"{alias}.geom")


def property_filter(
    filters: Filter | None, alias: str, prefix: str, hidden: tuple[str, ...] = (),
    geometry: str | None = None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """SQL (on `alias`) and bind parameters of a side's filter, compiled by the one filter
    compiler (store/cql2.py) as items and tiles compile theirs; 'TRUE' if empty. A filter is
    CQL2 text, CQL2 JSON (an object with "op") or a {property: value} equality map; one on an
    attribute among `hidden` (those the caller may not see) is InvalidInput."""
    if not filters:
        return "TRUE", {}
    expr: dict[str, Any] | None
    if isinstance(filters, str) or (isinstance(filters, dict) and "op" in filters):
        expr = cql2.parse(filters)
    elif isinstance(filters, dict):
        expr = cql2.equalities(filters)
    else:
        raise InvalidInput(msg("filter.object"), where={prefix: filters})
    return cql2.compile_filter(expr, alias=alias, prefix=f"{prefix}_", hidden=hidden,
                               geometry=geometry)  # fmt: skip


def ref(feature_id: int | None, name: str | None) -> dict[str, Any] | None:
    """How a feature is named in results: {"id", "name"}."""
    return None if feature_id is None else {"id": feature_id, "name": name}


def _missing_attributes(session: Session, layer: LayerRecord, keys: list[str]) -> list[str]:
    """Those of `keys` that no feature of `layer` has (none if the layer has no feature)."""
    return list(
        session.scalars(
            text(
                """
                SELECT k FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY u(k, i)
                 WHERE EXISTS (SELECT FROM features WHERE layer_id = :id)
                   AND NOT EXISTS (SELECT FROM features f
                                    WHERE f.layer_id = :id AND f.properties -> k IS NOT NULL)
                 ORDER BY i
                """
            ),
            {"keys": keys, "id": layer.id},
        )
    )


def _some_attributes(session: Session, layer: LayerRecord) -> list[str]:
    """Attribute names of the layer's first thousand features, for an error message."""
    return list(
        session.scalars(
            text(
                "SELECT DISTINCT k FROM (SELECT properties FROM features WHERE layer_id = :id"
                " LIMIT 1000) f, jsonb_object_keys(f.properties) k ORDER BY k"
            ),
            {"id": layer.id},
        )
    )


def label_sql(name: str, properties: str, hidden: tuple[str, ...] = ()) -> str:
    """SQL of a feature's label (NULL when it has none): its display name `name`, else the
    first of DEFAULT_LABELS its jsonb `properties` hold that is not `hidden`."""
    defaults = ", ".join(
        f"NULLIF(({properties}) ->> '{k}', '')" for k in DEFAULT_LABELS if k not in hidden
    )
    return f"COALESCE(NULLIF({name}, ''), {defaults})"


@dataclass(frozen=True)
class Naming:
    """How one side ("source" or "target") of an analysis names its features in the rows, and
    what they carry.

    `label` is the attribute whose value is a row's `name` (None: the feature's display name,
    else the first of DEFAULT_LABELS it has); `fields` are the attributes carried as the row's
    `properties`, in this order (`"*"`: every attribute the side's features in the result have).
    """

    side: str
    label: str | None = None
    fields: Fields = None
    # What the caller may see of the side's layer (store/sensitivity.py): its hidden attributes
    # are neither labels nor carried, and its geometries are not given when generalised.
    mask: Mask = EXACT

    @classmethod
    def of(
        cls,
        session: Session,
        layer: LayerRecord,
        side: str,
        label: str | None,
        fields: Fields,
        who: Principal | None = None,
    ) -> Naming:
        """A side's naming once its label and fields are known attributes of `layer` that
        `who` may see; if not, InvalidInput naming the option, the attribute and the layer's
        attributes."""
        mask = EXACT if who is None else mask_for(layer, who, prefix=f"{side}_m")
        if fields is not None and fields != "*" and not isinstance(fields, list):
            raise InvalidInput(msg("fields.list", side=side), where={f"{side}_fields": fields})
        asked = {
            f"{side}_label": [] if label is None else [label],
            f"{side}_fields": fields if isinstance(fields, list) else [],
        }
        for option, keys in asked.items():
            if any(not isinstance(k, str) or not k for k in keys):
                raise InvalidInput(msg("fields.empty", option=option), where={option: keys})
            missing = [k for k in keys if k in mask.hidden]
            missing += _missing_attributes(session, layer, keys) if keys else []
            if missing:
                known = ", ".join(_some_attributes(session, layer)) or msg("fields.none")
                raise InvalidInput(
                    msg(
                        "fields.unknown",
                        layer=layer.slug,
                        field=missing[0],
                        option=option,
                        known=known,
                    ),
                    where={option: missing[0]},
                )
        carried = list(dict.fromkeys(fields)) if isinstance(fields, list) else fields
        return cls(side, label, carried, mask)

    def label_sql(self, alias: str) -> str:
        """The feature's label as text (NULL when it has none)."""
        if self.label is not None:
            return f"NULLIF({alias}.properties ->> :{self.side}_label, '')"
        return label_sql(self.mask.name(alias + ".name"), f"{alias}.properties", self.mask.hidden)

    def properties_sql(self, alias: str) -> str:
        """The feature's attributes the caller may see when the rows carry some, else NULL."""
        if self.fields is None:
            return "CAST(NULL AS jsonb)"
        return self.mask.properties(f"{alias}.properties")

    @property
    def exact(self) -> bool:
        """Whether the caller sees the side's geometries as they are (else none are given)."""
        return self.mask.grid_m is None

    def pieces(self, layer: str) -> tuple[str, str]:
        """(CTE, relation) of the side's pieces (feature_id, layer_id, geom, area_m2) as the
        caller sees them, for the layer bound as `:{layer}`. Exact: `feature_pieces` itself,
        no CTE, so joins and probes go through its GiST index. Generalised: a CTE
        `{side}_seen` of each feature whole at its generalised geometry (a grid point or an
        admin area, made valid like the pieces, with its geodesic area), computed once and
        scanned without an index: brute force, which sensitive layers are small enough for."""
        if self.exact:
            return "", "feature_pieces"
        seen = self.mask.geometry("f.geom")
        relation = f"{self.side}_seen"
        cte = f"""{relation} AS MATERIALIZED (
          SELECT f.id AS feature_id, f.layer_id, v.geom,
                 CASE WHEN ST_Dimension(v.geom) = 2 THEN ST_Area(v.geom::geography) ELSE 0 END
                   AS area_m2
            FROM features f
           CROSS JOIN LATERAL (SELECT {seen} AS g) x
           CROSS JOIN LATERAL (
             SELECT CASE WHEN ST_Dimension(x.g) = 2
                         THEN ST_CollectionExtract(ST_MakeValid(x.g), 3)
                         ELSE ST_MakeValid(x.g) END AS geom) v
           WHERE f.layer_id = :{layer} AND NOT ST_IsEmpty(f.geom)
        ),"""
        return cte, relation

    def params(self) -> dict[str, Any]:
        label = {f"{self.side}_label": self.label} if self.label is not None else {}
        return label | self.mask.params()

    def ref(
        self, feature_id: int | None, name: str | None, properties: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """{"id", "name"} and, when the rows carry attributes, {"properties"}: those asked
        for (None where the feature lacks one), or all of them for "*"."""
        out = ref(feature_id, name)
        if out is None or self.fields is None:
            return out
        props = properties or {}
        out["properties"] = (
            dict(props) if self.fields == "*" else {k: props.get(k) for k in self.fields}
        )
        return out

    def columns(self, refs: list[dict[str, Any] | None]) -> list[str]:
        """The carried attributes in column order: as asked, or for "*" every one met, sorted
        (case aside) so that two runs give the same columns."""
        if self.fields is None:
            return []
        if self.fields != "*":
            return list(self.fields)
        met = {k for r in refs if r is not None for k in r.get("properties", {})}
        return sorted(met, key=lambda k: (k.casefold(), k))


def naming_options(source: Naming, target: Naming, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The result's record of how rows were named: `source_label`/`target_label` (None: the
    display name) and the carried attributes in column order (`source_fields`/`target_fields`)."""
    return {
        "source_label": source.label,
        "target_label": target.label,
        "source_fields": source.columns([r.get("source") for r in rows]),
        "target_fields": target.columns([r.get("target") for r in rows]),
    }


def geometry(value: str | bytes | None) -> Any:
    """A GeoJSON geometry from PostGIS's ST_AsGeoJSON text (None stays None)."""
    return None if value is None else orjson.loads(value)
