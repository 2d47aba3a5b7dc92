//! Which topic each kind of event travels on.
//!
//! Four input topics, co-partitioned (same partition count, keyed by dossier code) so that
//! partition `p` of every topic holds the same dossiers and one processor instance that owns
//! `p` everywhere sees all of a dossier's events. Plus one dead-letter topic.

use serde::{Deserialize, Serialize};

use crate::event::{DossierEvent, EventKind};

/// The role of a topic in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicRole {
    /// Form 01 receipts and form 03 refusals.
    Receipts,
    /// Everything between receipt and result: handovers, supplements, apologies, stops, withdrawals.
    Processing,
    /// Results issued and returned.
    Returns,
    /// Satisfaction surveys.
    Surveys,
}

impl TopicRole {
    /// The input roles, in a fixed order.
    pub const INPUTS: [TopicRole; 4] = [
        TopicRole::Receipts,
        TopicRole::Processing,
        TopicRole::Returns,
        TopicRole::Surveys,
    ];

    /// The role an event kind is published to.
    pub fn of(kind: EventKind) -> TopicRole {
        match kind {
            EventKind::Received | EventKind::Refused => TopicRole::Receipts,
            EventKind::SupplementRequested
            | EventKind::SupplementReceived
            | EventKind::Apology
            | EventKind::ProcessingStopped
            | EventKind::Handover
            | EventKind::Withdrawn
            | EventKind::PortalSynced => TopicRole::Processing,
            EventKind::ResultReady | EventKind::ResultReturned => TopicRole::Returns,
            EventKind::Survey | EventKind::SipasResponse | EventKind::Feedback => {
                TopicRole::Surveys
            }
        }
    }
}

/// Topic names; every one configurable, defaults documented in `docs/CONTRACT.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicNames {
    /// Receipts and refusals. Default `motcua.receipts`.
    pub receipts: String,
    /// Processing steps. Default `motcua.processing`.
    pub processing: String,
    /// Results. Default `motcua.returns`.
    pub returns: String,
    /// Surveys. Default `motcua.surveys`.
    pub surveys: String,
    /// Rejected records with the reason in headers. Default `motcua.dead-letter`.
    pub dead_letter: String,
}

impl Default for TopicNames {
    fn default() -> Self {
        TopicNames::with_prefix("motcua")
    }
}

impl TopicNames {
    /// All five names under one prefix, e.g. a test's own `it-1234`.
    pub fn with_prefix(prefix: &str) -> Self {
        TopicNames {
            receipts: format!("{prefix}.receipts"),
            processing: format!("{prefix}.processing"),
            returns: format!("{prefix}.returns"),
            surveys: format!("{prefix}.surveys"),
            dead_letter: format!("{prefix}.dead-letter"),
        }
    }

    /// The name of an input role.
    pub fn name(&self, role: TopicRole) -> &str {
        match role {
            TopicRole::Receipts => &self.receipts,
            TopicRole::Processing => &self.processing,
            TopicRole::Returns => &self.returns,
            TopicRole::Surveys => &self.surveys,
        }
    }

    /// The topic an event goes to.
    pub fn for_event(&self, event: &DossierEvent) -> &str {
        self.name(TopicRole::of(event.kind))
    }

    /// The four input topics.
    pub fn inputs(&self) -> [&str; 4] {
        TopicRole::INPUTS.map(|r| self.name(r))
    }
}
