#!/bin/sh
# LocalStack init hook (runs when LocalStack is ready): the shared resources Mail Proxy
# expects. Per-tenant queues are created by the API when a tenant is created.
awslocal s3 mb s3://mailproxy-large-files 2>/dev/null || true
