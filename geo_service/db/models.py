"""The data model: layers, their features and the history of every change (GeoAlchemy2).

Everything is a layer. A feature's typed attributes live in `properties` (JSONB), validated by
the layer's kind in `geo_service.domain`; geometry is EPSG:4326 with a GiST index, and a btree
on layer_id that the planner combines with it when a layer is small among large ones.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326


class Base(DeclarativeBase):
    pass


class Layer(Base):
    __tablename__ = "layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(Text)
    # The title in each language of the interface, when it differs from `title` (0005).
    title_fr: Mapped[str | None] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), server_default="public")
    storage: Mapped[str] = mapped_column(String(16), server_default="vector")
    attribution: Mapped[str | None] = mapped_column(Text)
    # What a reference layer is about, so analyses know protected areas from rivers.
    theme: Mapped[str | None] = mapped_column(String(32))
    property_schema: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    raster_path: Mapped[str | None] = mapped_column(Text)
    # Who may read a private layer besides admins: its owner, these keys and these groups.
    owner: Mapped[str | None] = mapped_column(Text)
    shared_with: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    shared_groups: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # Bumped by every change to the layer or its features: tile cache keys and ETags carry it.
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # How the map draws it ({colour, by, categories}; {} = the defaults) and where the layer
    # panel lists it among the layers of its kind (lower first).
    style: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    sort_order: Mapped[int] = mapped_column(Integer, server_default="0")
    # The field and value mapping its files are imported with, reused by a re-import (0007).
    import_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # How sensitive its locations and attributes are (0013, domain/sensitivity.py): a caller
    # cleared below `sensitivity` sees geometries generalised (`generalise`: a grid of
    # `generalise_m` metres or the containing admin area), below an attribute's level not it.
    sensitivity: Mapped[str] = mapped_column(Text, server_default="public")
    attribute_sensitivity: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    generalise: Mapped[str] = mapped_column(Text, server_default="grid")
    generalise_m: Mapped[int] = mapped_column(Integer, server_default="10000")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    features: Mapped[list[Feature]] = relationship(
        back_populates="layer", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9_-]*$'", name="layers_slug_format"),
        CheckConstraint(
            "visibility IN ('public', 'internal', 'private')", name="layers_visibility"
        ),
        CheckConstraint("storage IN ('vector', 'raster')", name="layers_storage"),
        CheckConstraint("jsonb_typeof(style) = 'object'", name="layers_style_object"),
    )


class Feature(Base):
    """One feature of a layer. Migrations 0002, 0003 and 0011 add, maintained by triggers: the
    column `whole` (set by a trigger unless the importer gives it, see store/bulk.py) and the
    tables `feature_parts` (subdivided pieces for analyses, read through the view
    `feature_pieces`) and `feature_simplified` (per-zoom-band copies of large features for
    tiles), never written by the application."""

    __tablename__ = "features"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    geom: Mapped[Any] = mapped_column(
        Geometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=False)
    )
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(Text)

    layer: Mapped[Layer] = relationship(back_populates="features")

    __table_args__ = (
        Index("features_geom_gist", "geom", postgresql_using="gist"),
        Index("features_layer", "layer_id"),
    )


class FeatureHistory(Base):
    """Earlier versions of features, written by a trigger on every update and delete."""

    __tablename__ = "feature_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feature_id: Mapped[int] = mapped_column(BigInteger, index=True)
    layer_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB)
    geom: Mapped[Any] = mapped_column(
        Geometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=False)
    )
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str | None] = mapped_column(Text)
    replaced_by: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """An access key: only the SHA-256 of its secret is kept (the secret is shown once)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    groups: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # A partner's limits: only these layers, only from these origins, only tiles.
    layers: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    origins: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    tiles_only: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who did what when: written by a trigger for every feature write (migration 0004) and by
    the service for layer, key and import operations."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    layer_id: Mapped[int | None] = mapped_column(Integer)
    layer_slug: Mapped[str | None] = mapped_column(Text)
    feature_id: Mapped[int | None] = mapped_column(BigInteger)
    version_before: Mapped[int | None] = mapped_column(Integer)
    version_after: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ZoneTransition(Base):
    """A status move of an ASM zone (migration 0008, store/zoning.py): who, when, why, the
    decree when gazetted, the border flag, the consents it relied on and the screening report
    as it was produced at the move."""

    __tablename__ = "zone_transitions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    feature_id: Mapped[int] = mapped_column(BigInteger)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    decree_ref: Mapped[str | None] = mapped_column(Text)
    override: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    border: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    consents: Mapped[list[Any] | None] = mapped_column(JSONB(none_as_null=True))
    screening: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))


class ZoneConsent(Base):
    """A title holder's recorded consent to an ASM zone over its title (migration 0008)."""

    __tablename__ = "zone_consents"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    feature_id: Mapped[int] = mapped_column(BigInteger)
    title_id: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str] = mapped_column(Text)
    consent_date: Mapped[date] = mapped_column(Date)
    document_ref: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Recorded:
    """Who recorded an enforcement record and when (migration 0009)."""

    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class PermitEvent(Recorded, Base):
    """A renewal, transfer or cancellation of an ASM permit (migration 0009)."""

    __tablename__ = "permit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    feature_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    new_holder: Mapped[str | None] = mapped_column(Text)
    new_holder_type: Mapped[str | None] = mapped_column(String(16))
    new_expires: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int | None] = mapped_column(Integer)


class Inspection(Recorded, Base):
    """An inspection of a site or permit (any feature) by a team (migration 0009)."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    feature_id: Mapped[int] = mapped_column(BigInteger)
    inspected_on: Mapped[date] = mapped_column(Date)
    team: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    notes: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[list[Finding]] = relationship(order_by="Finding.id")
    samples: Mapped[list[Sample]] = relationship(order_by="Sample.id")


class Finding(Base):
    __tablename__ = "inspection_findings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))


class Sample(Base):
    """A soil or water sample's result; `exceeded` is computed from the limit on writing."""

    __tablename__ = "inspection_samples"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"))
    medium: Mapped[str] = mapped_column(String(8))
    parameter: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(Text)
    limit_value: Mapped[float | None] = mapped_column(Float)
    exceeded: Mapped[bool | None] = mapped_column(Boolean)


class Sanction(Recorded, Base):
    """A sanction decided on a finding; a closure's steps and census hang from it."""

    __tablename__ = "sanctions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_findings.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Any | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    comment: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[ClosureStep]] = relationship(order_by="ClosureStep.id")
    censuses: Mapped[list[ClosureCensus]] = relationship(order_by="ClosureCensus.id")


class ClosureStep(Recorded, Base):
    __tablename__ = "closure_steps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sanction_id: Mapped[int] = mapped_column(ForeignKey("sanctions.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    done_on: Mapped[date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)


class ClosureCensus(Recorded, Base):
    """A census of the workers and residents of a site being closed (for resettlement)."""

    __tablename__ = "closure_censuses"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sanction_id: Mapped[int] = mapped_column(ForeignKey("sanctions.id", ondelete="CASCADE"))
    census_date: Mapped[date] = mapped_column(Date)
    workers: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
