"""Telephony protocol cores for fax over IP: SIP, SDP, UDPTL (T.38 transport) and RTP with G.711.

Every parser and state machine here is sans-I/O: bytes and the current time go in, events and
bytes come out; sockets and clocks belong to the asyncio transports beside them. Nothing here
knows about fax jobs. The modules are imported one by one (:mod:`.sip`, :mod:`.sdp`,
:mod:`.udptl`, :mod:`.rtp`), so that signalling alone does not pay for numpy, which only
G.711 needs.
"""
