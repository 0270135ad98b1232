-- What the person who decided an escalation wrote with the decision: a peer's advice for the
-- next attempt, or why a data-loss migration or a breaking change was approved.
ALTER TABLE escalations ADD COLUMN note TEXT;
