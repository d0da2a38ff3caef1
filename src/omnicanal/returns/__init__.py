"""Returns anywhere (RMA): any channel's order taken back at any store with the returns capability or by mail,
restocked or binned as damaged, refunded from what was actually paid."""
