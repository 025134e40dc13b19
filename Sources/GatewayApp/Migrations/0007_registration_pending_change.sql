-- A modification the bank accepted but applies later (BPCE: at its 14:00 Paris window, docs/adapters.md
-- "Modifications at BPCE"): the values it brings and when. Until then the other columns keep what is in effect at
-- the bank (certificates, keyId, redirect URIs), which the gateway keeps presenting and signing with.
ALTER TABLE registrations ADD COLUMN pending_change jsonb;
