//! A checkpoint write lands whole or not at all on the real server, even when the writer
//! dies in the middle of the request (a proxy cuts the request off at chosen bytes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use motcua_runtime::store::{CheckpointRow, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::common::{clickhouse_url, store_settings, Env};

/// Rows of one partition, with the encodings' edge cases: nulls and values, codes outside
/// ASCII, states longer than one and two LEB128 length bytes.
fn rows(partition: u32, n: usize) -> Vec<CheckpointRow> {
    (0..n)
        .map(|i| CheckpointRow {
            consumer_group: "g".into(),
            kafka_partition: partition,
            dossier_code: format!("000.00.{i:05}.H56-Đồng-{partition}"),
            version: i as u32 + 1,
            ended_at: (i % 3 != 0).then_some(1_700_000_000 + i as u32),
            period_upto: (i % 2 == 0).then_some(19_000 + i as u16),
            state: "x".repeat(match i % 3 {
                0 => 5,
                1 => 300,
                _ => 20_000,
            }),
            updated_at: 1_750_000_000,
        })
        .collect()
}

async fn count(store: &Store, partition: u32) -> u64 {
    store
        .client()
        .query("SELECT count() FROM processor_state WHERE kafka_partition = ?")
        .bind(partition)
        .fetch_one()
        .await
        .expect("count")
}

/// A proxy to ClickHouse that forwards the `i`-th connection's request only up to
/// `cuts[i]` bytes, then drops both ends, as a killed writer would (`None`: whole). Returns
/// its address and, per connection, the request bytes it forwarded.
async fn cutting_proxy(cuts: Vec<Option<usize>>) -> (SocketAddr, Arc<Mutex<Vec<usize>>>) {
    let upstream = clickhouse_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let forwarded = Arc::new(Mutex::new(Vec::new()));
    let seen = forwarded.clone();
    tokio::spawn(async move {
        for cut in cuts {
            let (client, _) = listener.accept().await.expect("accept");
            let server = TcpStream::connect(&upstream)
                .await
                .expect("connect to clickhouse");
            let n = relay(client, server, cut).await;
            seen.lock().await.push(n);
        }
    });
    (addr, forwarded)
}

async fn relay(client: TcpStream, server: TcpStream, cut: Option<usize>) -> usize {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    let mut sent = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let take = cut.map_or(n, |c| n.min(c - sent));
        if server_write.write_all(&buf[..take]).await.is_err() {
            break;
        }
        sent += take;
        if cut == Some(sent) {
            // The writer dies: both connections close with the request unfinished.
            answers.abort();
            return sent;
        }
    }
    let _ = server_write.shutdown().await;
    let _ = answers.await;
    sent
}

/// The bytes forwarded per connection, once `n` connections have ended.
async fn relayed(forwarded: &Mutex<Vec<usize>>, n: usize) -> Vec<usize> {
    for _ in 0..100 {
        let seen = forwarded.lock().await.clone();
        if seen.len() >= n {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the proxy saw fewer than {n} connections end");
}

fn through(proxy: SocketAddr, database: &str) -> Store {
    let mut settings = store_settings(database);
    settings.url = format!("http://{proxy}");
    Store::new(settings).with_timeout(Duration::from_secs(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_cut_off_mid_request_inserts_nothing() {
    let env = Env::new("store").await;
    const N: usize = 300;

    // Whole: every row comes back as written.
    let written = rows(0, N);
    env.store
        .insert_whole("processor_state", &written)
        .await
        .expect("a whole checkpoint lands");
    let (mut back, evicted) = env.store.load_partition("g", 0, 0).await.unwrap();
    assert!(evicted.is_empty());
    back.sort_by(|a, b| a.dossier_code.cmp(&b.dossier_code));
    assert_eq!(back, written, "the rows read back are the rows written");

    // Measure one whole request through the proxy (the same size for every partition
    // below: fixed-width numbers, a boundary of fixed length).
    let (proxy, forwarded) = cutting_proxy(vec![None]).await;
    through(proxy, &env.name)
        .insert_whole("processor_state", &rows(1, N))
        .await
        .expect("a whole request through the proxy lands");
    assert_eq!(count(&env.store, 1).await, N as u64);
    let total = relayed(&forwarded, 1).await[0];
    // `\r\n--motcua-<32 hex>--\r\n` closes the body.
    let closing = 47;

    // Cut off: in the headers' wake, halfway, with every row sent but no closing boundary,
    // and inside the closing boundary.
    let cuts = [total / 10, total / 2, total - closing, total - 4];
    let (proxy, forwarded) = cutting_proxy(cuts.iter().copied().map(Some).collect()).await;
    for (i, cut) in cuts.iter().enumerate() {
        let partition = 2 + i as u32;
        let result = through(proxy, &env.name)
            .insert_whole("processor_state", &rows(partition, N))
            .await;
        assert!(
            result.is_err(),
            "a request cut at byte {cut} of {total} reports an error"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let landed = count(&env.store, partition).await;
        if *cut <= total - closing {
            assert_eq!(
                landed, 0,
                "a request cut at byte {cut} of {total}, before its closing boundary, inserted {landed} of {N} rows"
            );
        } else {
            assert!(
                landed == 0 || landed == N as u64,
                "a request cut at byte {cut} of {total} inserted {landed} of {N} rows: not all or none"
            );
        }
    }
    assert_eq!(relayed(&forwarded, cuts.len()).await, cuts.to_vec());
}
