"""Every channel's orders: priced, reserved all-or-nothing, and moved through an explicit state machine."""
