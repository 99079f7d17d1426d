"""Mail Proxy library: packaged with every Lambda function."""
