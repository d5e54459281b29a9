"""Telephony: call events heard from the club's PBX.

This package holds the pure protocol layer: HEPv3 decoding (`hep`), SIP
message parsing (`sip`), and the dialog tracker that turns SIP traffic into
the call events the desk and the engine use (`dialogs`). Nothing here opens
a socket or reads the clock; the collector service feeds it datagrams and
their capture times.
"""
