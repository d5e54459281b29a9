"""One keyword-only function per use case. Views, the telephony adapters and
the CLI all call these; each outermost call is one transaction."""
