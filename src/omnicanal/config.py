"""The one typed configuration of the hub, read from ``OMNICANAL_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has a sensible default so that ``omnicanal demo`` runs with no configuration."""

    model_config = SettingsConfigDict(env_prefix="OMNICANAL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{Path('omnicanal.db').resolve()}",
        description="SQLAlchemy URL: sqlite+aiosqlite:///file.db (default) or postgresql+psycopg://user@host/db",
    )
    database_pool_size: int = Field(
        default=20, ge=1, le=200,
        description="PostgreSQL connections per server process (as many as its concurrent requests).")
    admin_token: str | None = Field(
        default=None, description="When set, accepted as an admin bearer token (for automation)."
    )
    currency: str = Field(default="EUR", min_length=3, max_length=3, description="The retailer's currency.")
    retailer_name: str = "Maison Lumière"
    timezone: str = "Europe/Paris"
    reservation_sweep_seconds: float = Field(
        default=30.0, gt=0, description="How often the server releases expired reservations."
    )
    api_key_cache_seconds: float = Field(
        default=10.0, ge=0, description="How long a verified API key is trusted before it is re-read."
    )
    idempotency_retention_hours: int = Field(default=48, ge=1)
    returns_location: str | None = Field(
        default=None, description="Where mail returns go when none is named (default: the first warehouse "
                                  "taking returns).")
    encryption_keys: str | None = Field(
        default=None, repr=False,
        description="Keys sealing personal data at rest: comma-separated base64url 32-byte keys, the first is "
                    "current (older ones still open older rows). `omnicanal gdpr new-key` makes one.")
    blind_index_key: str | None = Field(
        default=None, repr=False,
        description="The key of the keyed hashes that find customers by identifier (base64url, 32 bytes).")
    retention_days: int = Field(
        default=1095, ge=30, description="Customers inactive longer than this are anonymised by `gdpr retention`.")
    privacy_policy_version: str = Field(
        default="2026-01", min_length=1, max_length=40, description="The version of the privacy policy served.")
    privacy_policy_path: Path | None = Field(
        default=None, description="A Markdown file with the retailer's own privacy policy (default: the built-in).")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30,
                                 description="How long a console user's sign-in lasts before they sign in again.")
    login_failure_window_minutes: int = Field(
        default=15, ge=1, description="Failed sign-ins are counted over this many minutes (then forgotten).")
    login_failures_per_email: int = Field(
        default=5, ge=1, description="Failed sign-ins for one e-mail within the window before further tries get 429.")
    login_failures_per_client: int = Field(
        default=20, ge=1, description="Failed sign-ins from one IP address within the window before 429.")
    log_level: str = "info"
    access_log: bool = Field(default=False, description="Log every HTTP request (costly under load).")

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` and pass them to ``create_app``)."""
    return Settings()
