"""The audit log: who read or changed personal data, when, through which route, and with what outcome."""
