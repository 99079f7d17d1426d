"""Mail Proxy library: packaged with every Lambda function."""

# The release: /openapi.json's info.version and /metrics' gmp_build_info (API v1 and the
# extensions of docs/api.md section 7).
VERSION = "1.1.0"
