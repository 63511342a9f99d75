# address/name,name. The password comes from REDISCLI_AUTH (and an ACL user
# from REDIS_USERNAME); the listed parameters are read from the server.
REDISCLI_AUTH=... terraform import mcpai_redis_config.cache 10.0.1.40:6379/maxmemory,maxmemory-policy,save
