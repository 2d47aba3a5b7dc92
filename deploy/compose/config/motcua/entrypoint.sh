#!/bin/sh
# Compose only: motcua reads its secrets from MOTCUA_* environment variables; Docker secrets
# are files under /run/secrets. This turns the files a service was given into the variables,
# then runs `motcua "$@"`. (Kubernetes sets the same variables from Secrets directly.)
#
#   /run/secrets/clickhouse-password   -> MOTCUA_CLICKHOUSE_PASSWORD
#   /run/secrets/pseudonym-key         -> MOTCUA_PSEUDONYM_KEY
#   /run/secrets/kafka-password        -> the SASL password inside MOTCUA_KAFKA_OPTIONS, built from
#                                         MOTCUA_KAFKA_USER and the CA file /run/secrets/kafka-ca.crt
set -eu
secrets="${SECRETS_DIR:-/run/secrets}"
read_secret() { tr -d '\r\n' <"${secrets}/$1"; }
if [ -s "${secrets}/clickhouse-password" ]; then
  MOTCUA_CLICKHOUSE_PASSWORD="$(read_secret clickhouse-password)"
  export MOTCUA_CLICKHOUSE_PASSWORD
fi
if [ -s "${secrets}/pseudonym-key" ]; then
  MOTCUA_PSEUDONYM_KEY="$(read_secret pseudonym-key)"
  export MOTCUA_PSEUDONYM_KEY
fi
if [ -s "${secrets}/kafka-password" ]; then
  : "${MOTCUA_KAFKA_USER:?MOTCUA_KAFKA_USER names the SASL user of this service}"
  kafka_password="$(read_secret kafka-password)"
  case "${kafka_password}" in
    *,*) echo "entrypoint.sh: the Kafka password must not contain a comma (MOTCUA_KAFKA_OPTIONS is comma-separated)" >&2; exit 1 ;;
  esac
  MOTCUA_KAFKA_OPTIONS="security.protocol=SASL_SSL,sasl.mechanism=SCRAM-SHA-512,sasl.username=${MOTCUA_KAFKA_USER},sasl.password=${kafka_password},ssl.ca.location=${secrets}/kafka-ca.crt${MOTCUA_KAFKA_EXTRA_OPTIONS:+,${MOTCUA_KAFKA_EXTRA_OPTIONS}}"
  export MOTCUA_KAFKA_OPTIONS
  unset kafka_password
fi
exec motcua "$@"
