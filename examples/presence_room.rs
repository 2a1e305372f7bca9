//! Who is in room X, in what role: reads `tencent.presence` from the start to its end, keeps the
//! last value per key, prints the room's members. `docs/consumers.md`, "The presence view".
//!
//!   cargo run --example presence_room -- kafka-1:9092 tencent.presence 1400000000 live room-1
use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{error::KafkaError, message::Message, ClientConfig, Offset, TopicPartitionList};

fn main() -> anyhow::Result<()> {
    let [brokers, topic, app, scope, room]: [String; 5] = std::env::args()
        .skip(1)
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| anyhow::anyhow!("usage: presence_room BROKERS TOPIC SDK_APP_ID SCOPE ROOM_ID"))?;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "presence-room-example")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()?;
    let partitions = consumer
        .fetch_metadata(Some(&topic), Duration::from_secs(10))?
        .topics()[0]
        .partitions()
        .len() as i32;
    let mut tpl = TopicPartitionList::new();
    (0..partitions).try_for_each(|p| tpl.add_partition_offset(&topic, p, Offset::Beginning))?;
    consumer.assign(&tpl)?;
    let (mut members, mut at_end) = (BTreeMap::new(), 0);
    while at_end < partitions {
        match consumer.poll(Duration::from_secs(10)) {
            Some(Err(KafkaError::PartitionEOF(_))) => at_end += 1,
            Some(Ok(m)) => {
                let key: Vec<String> =
                    serde_json::from_slice(m.key().unwrap_or_default()).unwrap_or_default();
                if key.len() != 4 || key[..3] != [app.clone(), scope.clone(), room.clone()] {
                    continue;
                }
                match m.payload().map(serde_json::from_slice::<serde_json::Value>) {
                    Some(Ok(v)) => {
                        members.insert(key[3].clone(), v["role"].as_str().unwrap_or("?").to_owned())
                    }
                    _ => members.remove(&key[3]), // a tombstone: the member left
                };
            }
            other => anyhow::bail!("reading {topic}: {other:?}"),
        }
    }
    members
        .iter()
        .for_each(|(member, role)| println!("{member} {role}"));
    Ok(())
}
