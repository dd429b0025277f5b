-- The stored (compressed) bodies of a batch's body hashes, from raw.page_bodies.
SELECT body_sha256, any_value(body) AS body
FROM raw.page_bodies
WHERE body_sha256 IN (SELECT unnest($hashes))
GROUP BY body_sha256
