//! Two runs of `send_mail` at once (a scheduler fire overlapping a slow run, or a second
//! replica) deliver every mail once, even when the SMTP server is slow.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Server};

use crate::helpers::spawn_with;

/// An SMTP server that takes a second to accept each message and records its Message-ID.
#[derive(Clone, Default)]
struct SlowInbox {
    ids: Arc<Mutex<Vec<String>>>,
    current: Vec<u8>,
}

impl Handler for SlowInbox {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        std::thread::sleep(Duration::from_secs(1));
        let msg = String::from_utf8_lossy(&std::mem::take(&mut self.current)).into_owned();
        let id = msg
            .lines()
            .find_map(|l| {
                l.strip_prefix("Message-ID:")
                    .or(l.strip_prefix("Message-Id:"))
            })
            .unwrap_or("?")
            .trim()
            .to_owned();
        self.ids.lock().unwrap().push(id);
        mailin_embedded::response::OK
    }
}

fn start_slow_smtp(listener: TcpListener) -> SlowInbox {
    let inbox = SlowInbox::default();
    let mut server = Server::new(inbox.clone());
    server
        .with_name("slow.smtp.test")
        .with_num_threads(4)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    inbox
}

#[tokio::test]
async fn a_second_run_overlapping_a_slow_one_sends_no_mail_twice() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = start_slow_smtp(listener);
    let app = spawn_with(move |s| {
        s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        // A send takes about a second here: a claim outlives one send, not a batch of five.
        s.mail.claim_secs = 3;
    })
    .await;
    for _ in 0..4 {
        app.user("expert", None).await;
    }

    // The first run sends its batch one by one, a second apiece; the second starts while the
    // first is on its fourth mail, after the claims of a whole batch taken ahead would lapse.
    let state = app.state.clone();
    let first =
        tokio::spawn(
            async move { gongyi::jobs::send_mail::run_once(&state, state.clock.now()).await },
        );
    tokio::time::sleep(Duration::from_millis(3400)).await;
    let second = gongyi::jobs::send_mail::run_once(&app.state, app.state.clock.now())
        .await
        .unwrap();
    let first = first.await.unwrap().unwrap();

    let ids = inbox.ids.lock().unwrap().clone();
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *times.entry(id.as_str()).or_default() += 1;
    }
    assert!(
        ids.len() >= 5,
        "the admin's and four experts' mails: {ids:?}"
    );
    assert!(
        times.values().all(|&n| n == 1),
        "a mail was delivered twice: {times:?}"
    );
    assert_eq!(first.processed + second.processed, ids.len() as u64);
    assert_eq!(first.failed + second.failed, 0);
}
