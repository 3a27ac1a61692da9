"""What users can be told about, and through which channels."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "deployment_state": "Deployment state changes",
    "failure": "Failures",
    "repair": "Auto-repair steps",
    "cost_warning": "Cost warnings (budget thresholds)",
    "budget_limit": "Budget hard limit (the notice before, and the instances it stopped)",
    "price_alert": "Price alerts",
}
CHANNELS: dict[str, str] = {"email": "E-mail", "telegram": "Telegram"}
# State changes can be chatty: off by default; everything else is on until switched off.
DEFAULT_OFF = {("deployment_state", "email"), ("deployment_state", "telegram")}


def default_enabled(event_type: str, channel: str) -> bool:
    return (event_type, channel) not in DEFAULT_OFF


# Price alerts are open to every plan (Basic keeps one), and so is the hard limit's notice: nobody's
# instances are stopped without being told. Every other event is part of the Pro "notifications" feature.
OPEN_TO_ALL_PLANS = {"price_alert", "budget_limit"}
NOTIFICATIONS_FEATURE = "notifications"
