SELECT json_build_object(
  'users', (SELECT count(*) FROM accounts_user),
  'users_md5', (SELECT md5(coalesce(string_agg(id::text || ':' || username || ':' || coalesce(email, ''), ',' ORDER BY id), '')) FROM accounts_user),
  'posts', (SELECT count(*) FROM posts_post),
  'posts_md5', (SELECT md5(coalesce(string_agg(id::text || ':' || md5(text) || ':' || moderation_state, ',' ORDER BY id), '')) FROM posts_post),
  'attachments', (SELECT count(*) FROM posts_attachment),
  'attachments_md5', (SELECT md5(coalesce(string_agg(id::text || ':' || file, ',' ORDER BY id), '')) FROM posts_attachment));
