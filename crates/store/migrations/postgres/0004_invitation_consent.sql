-- Adding someone to an organization is an invitation they accept or decline: invitations carry
-- the home site the inviter chose and when the person declined. Pending invitations are found
-- by the invited email, for the invited person's own list.
ALTER TABLE invitations ADD COLUMN site_id BIGINT REFERENCES sites (id) ON DELETE SET NULL;
ALTER TABLE invitations ADD COLUMN declined_at BIGINT;
CREATE INDEX invitations_email ON invitations (email);
