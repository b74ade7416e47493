module github.com/sesame-auth/sesame/deploy/healthcheck

go 1.26.0
