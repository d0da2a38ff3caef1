"""Order routing: from which location(s) a shipped order leaves — a cost model, the order-by-order router,
``explain``, rejections by stores with re-routing, and a batch mode solved as a MIP (HiGHS)."""
