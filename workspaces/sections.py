"""The tabs of the workspace's settings page. The workspace's own sections (members,
API keys) are declared here; other apps add theirs (contacts: custom attributes, tags,
topics) with `register` in their AppConfig.ready, so the floor app links to pages it
knows nothing of. A page says which tab it is with `section` in its context."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SettingsSection:
    key: str  # the page's `section`
    label: str
    url_name: str
    order: int = 100
    managers_only: bool = False  # shown to owners and admins only


_sections: dict[str, SettingsSection] = {}


def register(section: SettingsSection) -> None:
    _sections[section.key] = section


def all_sections() -> list[SettingsSection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.label))


register(SettingsSection("members", "Members", "workspaces:members", order=10))
register(SettingsSection("api_keys", "API keys", "workspaces:api_keys", order=90))
register(SettingsSection("audit", "Audit log", "workspaces:audit", order=95, managers_only=True))
