"""Deployment files (Dockerfile, compose.yaml, verify_deployment.sh), checked without Docker."""
