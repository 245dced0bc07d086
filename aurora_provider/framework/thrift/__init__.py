"""Aurora 0.22's Thrift API, served at ``POST /api`` beside the REST API (docs/thrift-api.md).

``api.thrift`` is the interface, ``idl`` loads it, ``codec`` reads and writes its structs over
Apache Thrift's protocols, ``registry`` holds the handlers (``reads``, ``jobs``, ...) and
``route`` is the endpoint; ``convert`` is where Thrift structs meet the REST API's models.
"""
