# host:path (host:port:path off port 22). The imported content is kept in
# sensitive_content (the file may hold secrets). An imported file stays on
# destroy: there is no earlier file to put back.
terraform import mcpai_host_file.traefik_api 10.0.2.20:/etc/traefik/dynamic/mcpai-api.yml
