"""The fax service: the queues, the scheduler, receiving and routing, archives and events.

:class:`FaxService` is the facade the API exposes; everything else here serves it.
"""
