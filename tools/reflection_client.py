#!/usr/bin/env python3
"""A review-ledger client that knows nothing of ours but the server's
address: it learns the contract through gRPC reflection as Python's
grpcio-reflection sees it (it speaks only grpc.reflection.v1alpha), builds
the message classes from the descriptors the server hands out (no .proto
file of ours on this side), and reads the typed messages of the first
hosted ledger.

    python3 tools/reflection_client.py 127.0.0.1:7327

Prints one JSON object:
  services        the services reflection lists;
  ledger_methods  the methods of reviewledger.v1.LedgerService;
  kinds           for each entry of the first ledger (up to 1024), its kind
                  and the name of the typed payload field it came with;
  minutes         the typed minutes of its first review (GetMinutes), in
                  proto3's JSON mapping with the contract's field names;
  organisation    as GetMinutes gives it.
"""

import json
import sys

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

try:
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # protobuf before 4.22
    from google.protobuf.message_factory import MessageFactory

    def GetMessageClass(descriptor):
        return MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def caller(channel, pool, service, method):
    """A unary call of `service`.`method`, with classes from the descriptors."""
    m = pool.FindServiceByName(service).FindMethodByName(method)
    request = GetMessageClass(m.input_type)
    response = GetMessageClass(m.output_type)
    call = channel.unary_unary(
        f"/{service}/{method}",
        request_serializer=request.SerializeToString,
        response_deserializer=response.FromString,
    )
    return lambda **fields: call(request(**fields), timeout=30)


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    pool = DescriptorPool(database)
    ledger_service = "reviewledger.v1.LedgerService"
    review_service = "reviewledger.v1.ReviewService"
    ledger = pool.FindServiceByName(ledger_service)
    out = {
        "services": services,
        "ledger_methods": sorted(m.name for m in ledger.methods),
    }
    ledgers = caller(channel, pool, ledger_service, "ListLedgers")().ledgers
    if ledgers:
        ledger_id = ledgers[0].ledger_id
        entries = caller(channel, pool, ledger_service, "ReadRange")(
            ledger_id=ledger_id, start=0, limit=0
        ).entries
        out["kinds"] = [
            [e.event.kind, e.event.payload.WhichOneof("body")] for e in entries
        ]
        reviews = caller(channel, pool, review_service, "ListReviews")(
            ledger_id=ledger_id
        ).reviews
        if reviews:
            minutes = caller(channel, pool, review_service, "GetMinutes")(
                ledger_id=ledger_id, review=reviews[0].id
            )
            out["organisation"] = minutes.organisation
            out["minutes"] = json_format.MessageToDict(
                minutes.minutes, preserving_proto_field_name=True
            )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
