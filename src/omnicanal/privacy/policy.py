"""The privacy policy the hub serves: the retailer's own Markdown file when configured, else the built-in one,
with its version from the settings (consents record the version the customer was shown)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omnicanal.config import Settings

BUILT_IN = Path(__file__).with_name("policy.md")


@dataclass(frozen=True)
class PrivacyPolicy:
    version: str
    text: str
    controller: str


def privacy_policy(settings: Settings) -> PrivacyPolicy:
    """The policy in force: text (Markdown) and version."""
    path = settings.privacy_policy_path or BUILT_IN
    text = path.read_text(encoding="utf-8")
    if path == BUILT_IN:
        text = text.format(retailer=settings.retailer_name, version=settings.privacy_policy_version,
                           retention=_period(settings.retention_days))
    return PrivacyPolicy(version=settings.privacy_policy_version, text=text, controller=settings.retailer_name)


def _period(days: int) -> str:
    return f"{days // 365} years" if days % 365 == 0 else f"{days} days"
