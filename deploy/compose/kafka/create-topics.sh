#!/bin/sh
# Creates the suite's topics and their dead-letter topics; safe to run again.
# KAFKA_BOOTSTRAP: where the broker listens; TOPIC_PARTITIONS, TOPIC_REPLICATION: sizing.
set -eu

bootstrap="${KAFKA_BOOTSTRAP:-kafka-0:9092}"
partitions="${TOPIC_PARTITIONS:-3}"
replication="${TOPIC_REPLICATION:-1}"

for topic in auth.events chat.events orders.events notification.send; do
    for name in "$topic" "$topic.dlq"; do
        /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
            --topic "$name" --partitions "$partitions" --replication-factor "$replication"
    done
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --list
