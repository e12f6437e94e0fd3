#!/usr/bin/env python3
"""Lists a review-ledger server's services through gRPC reflection as
Python's grpcio-reflection sees it (it speaks only grpc.reflection.v1alpha),
and describes the ledger service's methods from the descriptors the server
hands out: no .proto file of ours on this side.

    python3 tools/reflection_client.py 127.0.0.1:7327

Prints one JSON object: {"services": [...], "ledger_methods": [...]}.
"""

import json
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    pool = DescriptorPool(database)
    ledger = pool.FindServiceByName("reviewledger.v1.LedgerService")
    print(json.dumps({
        "services": services,
        "ledger_methods": sorted(m.name for m in ledger.methods),
    }))


if __name__ == "__main__":
    main()
