"""The layers every vendor client shares: transport, rate limiter, requestor."""
