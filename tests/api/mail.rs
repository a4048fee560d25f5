//! The outbox: mail goes out through a real SMTP server; while SMTP is down nothing is lost,
//! and delivery resumes when it is back.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{Handler, Server};
use serde_json::json;

use crate::helpers::{spawn_with, PASSWORD};

#[derive(Clone, Default)]
struct Inbox {
    messages: Arc<Mutex<Vec<String>>>,
    current: Arc<Mutex<Vec<u8>>>,
}

impl Handler for Inbox {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().unwrap().extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let msg = String::from_utf8_lossy(&std::mem::take(&mut *self.current.lock().unwrap()))
            .into_owned();
        self.messages.lock().unwrap().push(msg);
        mailin_embedded::response::OK
    }
}

/// Starts an SMTP server on `listener` in the background; returns its inbox.
fn start_smtp(listener: TcpListener) -> Inbox {
    let inbox = Inbox::default();
    let mut server = Server::new(inbox.clone());
    server
        .with_name("smtp.test")
        .with_num_threads(1)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    inbox
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn outbox_status(app: &crate::helpers::TestApp, email: &str) -> Vec<(String, i32)> {
    let state = app.state.clone();
    let email = email.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = state.db.write_conn().unwrap();
        gongyi::notify::repo::list_by_recipient(&mut conn, &email)
            .unwrap()
            .into_iter()
            .map(|r| (r.status.into(), r.attempts))
            .collect()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_account_is_mailed_through_smtp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = start_smtp(listener);
    let app = spawn_with(move |s| s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let (_, email, _) = app.user("expert", None).await;
    let report = app.run_job("send_mail").await.expect(200);
    assert_eq!(report.body["name"], "send_mail");
    assert!(
        report.body["processed"].as_u64().unwrap() >= 2,
        "the admin's and the expert's: {}",
        report.body
    );
    let messages = inbox.messages.lock().unwrap().clone();
    let ours: Vec<&String> = messages.iter().filter(|m| m.contains(&email)).collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].contains("Subject: Your gongyi account"));
    assert_eq!(
        outbox_status(&app, &email).await,
        vec![("sent".to_owned(), 1)]
    );
    // Running the job again sends nothing twice.
    let again = app.run_job("send_mail").await.expect(200);
    assert_eq!(again.body["processed"], 0);
    assert_eq!(inbox.messages.lock().unwrap().len(), messages.len());
}

#[tokio::test]
async fn nothing_is_lost_while_smtp_is_down_and_delivery_resumes() {
    let port = free_port(); // nothing listens there yet: SMTP is down
    let app = spawn_with(move |s| {
        s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail.retry_base_secs = 60;
    })
    .await;
    let (_, email, _) = app.user("expert", None).await;
    let down = app.run_job("send_mail").await.expect(200);
    assert_eq!(down.body["processed"], 0);
    assert!(down.body["failed"].as_u64().unwrap() >= 1);
    assert_eq!(
        outbox_status(&app, &email).await,
        vec![("pending".to_owned(), 1)]
    );
    // Still down a second time, still kept.
    app.post(
        "/api/v1/admin/clock",
        Some(&app.admin_token),
        json!({"advance_seconds": 61}),
    )
    .await
    .expect(200);
    app.run_job("send_mail").await.expect(200);
    assert_eq!(
        outbox_status(&app, &email).await,
        vec![("pending".to_owned(), 2)]
    );
    // Before the back-off has passed, nothing is retried.
    let early = app.run_job("send_mail").await.expect(200);
    assert_eq!(early.body["failed"], 0);

    // SMTP comes back on the same port.
    let inbox = start_smtp(TcpListener::bind(("127.0.0.1", port)).unwrap());
    app.post(
        "/api/v1/admin/clock",
        Some(&app.admin_token),
        json!({"advance_seconds": 121}),
    )
    .await
    .expect(200);
    let up = app.run_job("send_mail").await.expect(200);
    assert!(up.body["processed"].as_u64().unwrap() >= 1, "{}", up.body);
    assert_eq!(
        outbox_status(&app, &email).await,
        vec![("sent".to_owned(), 3)]
    );
    let n = inbox
        .messages
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains(&email))
        .count();
    assert_eq!(n, 1, "delivered exactly once");
    let _ = PASSWORD;
}

#[tokio::test]
async fn a_mail_that_keeps_failing_ends_dead_not_deleted() {
    let port = free_port();
    let app = spawn_with(move |s| {
        s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail.retry_base_secs = 1;
        s.mail.max_attempts = 3;
    })
    .await;
    let (_, email, _) = app.user("expert", None).await;
    let mut now = app.state.clock.now();
    for _ in 0..3 {
        gongyi::jobs::send_mail::run_once(&app.state, now)
            .await
            .unwrap();
        now += chrono::Duration::hours(1);
    }
    assert_eq!(
        outbox_status(&app, &email).await,
        vec![("dead".to_owned(), 3)]
    );
    // A dead mail is never picked up again.
    let report = gongyi::jobs::send_mail::run_once(&app.state, now + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = spawn_with(|_| {}).await;
    let (_, email, _) = app.user("expert", None).await;
    app.run_job("send_mail").await.expect(200);
    let dir = app.data_dir().join("mail");
    let found = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .any(|text| text.contains(&email));
    assert!(found, "no .eml for {email} in {}", dir.display());
}

#[tokio::test]
async fn an_unknown_job_is_404() {
    let app = spawn_with(|_| {}).await;
    app.run_job("mine_bitcoin").await.problem(404, "not_found");
}
