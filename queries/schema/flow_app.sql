-- name: flow_app
-- description: Application labels of pcap-derived flows, from payload evidence, filled during each capture's
-- import (forensics/ingest/app_labels.py, queries/derive/flow_app.sql). A flow without a row has no evidence.
-- What `app` shows in `forensics flows` and the reports is the configured [applications] signature first
-- (matched when the command runs, so a config change needs no re-import; exported flows get only that), then
-- this label. README "Application labels" lists the evidence behind each label and their precedence.

CREATE TABLE IF NOT EXISTS flow_app (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    flow_id BIGINT NOT NULL,              -- flows.flow_id (one row per labelled flow)
    app VARCHAR NOT NULL,                 -- dns, mdns, llmnr, dhcp, ntp, tls, quic, http, smtp, ssh, smb, rdp
    evidence VARCHAR NOT NULL,            -- where the label comes from: the table (dns, dhcp, ntp, tls, http) holding a
                                          -- message of the flow's connection, or payload (its first payload bytes)
    frame UINTEGER NOT NULL               -- packets.frame of that message (either direction of the connection)
);
