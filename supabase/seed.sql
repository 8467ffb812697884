-- Local development data only (applied by `npm start`, `npm run db:reset` and `npm test`; never
-- by `supabase db push`). Fixed ids so that the tokens the local stack prints stay stable.

-- Auth users: on Supabase these come from sign-up through GoTrue; locally the stack signs an
-- access token for each of them (see `npm start` output). Each signs in through the local Auth
-- API with the password `password123` (SEEDED_PASSWORD in local/auth-server.mjs), stored as
-- GoTrue stores passwords: a bcrypt hash.
insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
values
  ('11111111-1111-4111-8111-111111111111', 'authenticated', 'authenticated', 'alice@example.com', extensions.crypt('password123', extensions.gen_salt('bf')), now(), '{"provider":"email"}', '{"persona":"real_user"}'),
  ('22222222-2222-4222-8222-222222222222', 'authenticated', 'authenticated', 'brian@example.com', extensions.crypt('password123', extensions.gen_salt('bf')), now(), '{"provider":"email"}', '{"persona":"real_user"}'),
  ('33333333-3333-4333-8333-333333333333', 'authenticated', 'authenticated', 'olivia@fantooo.local', extensions.crypt('password123', extensions.gen_salt('bf')), now(), '{"provider":"email"}', '{"persona":"operator"}'),
  ('44444444-4444-4444-8444-444444444444', 'authenticated', 'authenticated', 'oscar@fantooo.local', extensions.crypt('password123', extensions.gen_salt('bf')), now(), '{"provider":"email"}', '{"persona":"operator"}'),
  ('55555555-5555-4555-8555-555555555555', 'authenticated', 'authenticated', 'admin@fantooo.local', extensions.crypt('password123', extensions.gen_salt('bf')), now(), '{"provider":"email"}', '{"persona":"admin"}')
-- A database seeded before the users had passwords gets them; a password changed since is kept.
on conflict (id) do update set encrypted_password = excluded.encrypted_password
  where auth.users.encrypted_password is null;

-- Profiles of the seeded accounts (docs/rules.md: real users insert their own row after sign-up,
-- admins create operators and admins; here the seed does it as the superuser).
insert into public.admins (id, email, name)
values ('55555555-5555-4555-8555-555555555555', 'admin@fantooo.local', 'Ada Admin')
on conflict (id) do nothing;

insert into public.real_users (id, email, display_name, age, gender, looking_for, bio, credits)
values
  ('11111111-1111-4111-8111-111111111111', 'alice@example.com', 'Alice', 29, 'female', 'male',
   'Hiking on weekends, coffee on weekdays.', 40),
  ('22222222-2222-4222-8222-222222222222', 'brian@example.com', 'Brian', 34, 'male', 'female',
   'Football, jazz and long dinners.', 5)
on conflict (id) do nothing;

insert into public.operators (id, email, name, status, max_concurrent_chats)
values
  ('33333333-3333-4333-8333-333333333333', 'olivia@fantooo.local', 'Olivia', 'available', 3),
  ('44444444-4444-4444-8444-444444444444', 'oscar@fantooo.local', 'Oscar', 'offline', 2)
on conflict (id) do nothing;

-- Fictional profiles: both genders, one featured.
insert into public.fictional_users (id, name, age, gender, bio, interests, is_featured, created_by)
values
  ('a0000000-0000-4000-8000-000000000001', 'Amani', 27, 'female', 'Nairobi born, loves rooftop sunsets.',
   '{music,travel,photography}', true, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000002', 'Wanjiru', 31, 'female', 'Runs, reads, and bakes on Sundays.',
   '{running,books,baking}', false, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000003', 'Zawadi', 24, 'female', 'Art student with strong opinions on chai.',
   '{art,tea,films}', false, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000004', 'Nia', 35, 'female', 'Marine biologist, happiest at the coast.',
   '{ocean,diving,science}', false, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000005', 'Jabari', 30, 'male', 'Chef who still burns toast.',
   '{cooking,football,markets}', false, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000006', 'Kofi', 38, 'male', 'Architect and weekend guitarist.',
   '{design,guitar,cycling}', false, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000007', 'Baraka', 26, 'male', 'Safari guide with a thousand stories.',
   '{wildlife,camping,stories}', false, '55555555-5555-4555-8555-555555555555'),
  ('a0000000-0000-4000-8000-000000000008', 'Tariq', 42, 'male', 'Pilot; ask about the best airport food.',
   '{aviation,food,chess}', false, '55555555-5555-4555-8555-555555555555')
on conflict (id) do nothing;

insert into public.fictional_user_guidelines (fictional_user_id, personality_guidelines)
values
  ('a0000000-0000-4000-8000-000000000001', 'Warm and playful; teases gently; talks about music gigs in Westlands.'),
  ('a0000000-0000-4000-8000-000000000002', 'Calm and curious; asks about books; early riser.'),
  ('a0000000-0000-4000-8000-000000000003', 'Witty, opinionated about art; uses short messages.'),
  ('a0000000-0000-4000-8000-000000000004', 'Thoughtful; shares ocean facts; never rushes.'),
  ('a0000000-0000-4000-8000-000000000005', 'Self-deprecating humour; food metaphors; supports Gor Mahia.'),
  ('a0000000-0000-4000-8000-000000000006', 'Measured and kind; talks design and old songs.'),
  ('a0000000-0000-4000-8000-000000000007', 'Adventurous storyteller; lots of questions about the user''s travels.'),
  ('a0000000-0000-4000-8000-000000000008', 'Dry humour; talks about cities he flies to; patient listener.')
on conflict (fictional_user_id) do nothing;

insert into public.favorites (real_user_id, fictional_user_id)
values
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000006'),
  ('22222222-2222-4222-8222-222222222222', 'a0000000-0000-4000-8000-000000000001')
on conflict do nothing;

-- Two chats: Alice and Kofi have talked (idle, answered); Brian's message to Amani waits for an
-- operator (in the assignment queue). Alice's chat starts out 'assigned' (Olivia answered it), so
-- that the bookkeeping below ends it 'idle' through a transition the lifecycle guard allows
-- (005_chats: an idle chat that a real user writes to becomes waiting, and only a release
-- makes it idle again).
insert into public.chats (id, real_user_id, fictional_user_id, status)
values
  ('c0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000006', 'assigned'),
  ('c0000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'a0000000-0000-4000-8000-000000000001', 'idle')
on conflict (id) do nothing;

insert into public.messages (id, chat_id, sender_type, content, created_at)
values
  ('d0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'real',
   'Hi Kofi! Which song do you play most on the guitar?', now() - interval '50 minutes'),
  ('d0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000001', 'fictional',
   'Hey Alice! Probably "Malaika", my grandmother''s favourite. You?', now() - interval '45 minutes'),
  ('d0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000001', 'real',
   'I can only whistle, but I''d listen to that.', now() - interval '40 minutes'),
  ('d0000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000001', 'fictional',
   'Then you''re hired as my audience.', now() - interval '38 minutes'),
  ('d0000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-000000000002', 'real',
   'Hi Amani, any good gigs this weekend?', now() - interval '3 minutes')
on conflict (id) do nothing;

insert into public.message_authors (message_id, operator_id)
values
  ('d0000000-0000-4000-8000-000000000002', '33333333-3333-4333-8333-333333333333'),
  ('d0000000-0000-4000-8000-000000000004', '33333333-3333-4333-8333-333333333333')
on conflict (message_id) do nothing;

-- Make the chats' bookkeeping match the messages above whatever the message triggers did.
update public.chats c
set message_count = m.n,
    real_message_count = m.real_n,
    last_message_at = m.last_at,
    status = case when c.id = 'c0000000-0000-4000-8000-000000000002' then 'waiting' else 'idle' end,
    queued_at = case when c.id = 'c0000000-0000-4000-8000-000000000002' then m.first_at end
from (
  select chat_id, count(*)::int as n, count(*) filter (where sender_type = 'real')::int as real_n,
         max(created_at) as last_at, min(created_at) as first_at
  from public.messages
  where chat_id in ('c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002')
  group by chat_id
) m
where m.chat_id = c.id
  and c.status in ('idle', 'waiting', 'assigned')
  and not exists (select 1 from public.chat_assignments a where a.chat_id = c.id and a.released_at is null);

update public.operators o
set total_messages_sent = (select count(*)::int from public.message_authors a where a.operator_id = o.id)
where o.id in ('33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444');

-- Credit packages: 009 creates the four default ones with random ids; here they get fixed ones, so a
-- package id (in a frontend's .env, a bookmark, a test) is the same after every `npm run db:reset`.
-- The seed runs on a new database only, where no purchase refers to them yet. Not an admin's change:
-- no admin_actions row for it.
alter table public.credit_packages disable trigger record_credit_package_change;
update public.credit_packages p
set id = v.id
from (values
  ('Starter', 'e0000000-0000-4000-8000-000000000001'::uuid),
  ('Popular', 'e0000000-0000-4000-8000-000000000002'::uuid),
  ('Value', 'e0000000-0000-4000-8000-000000000003'::uuid),
  ('Premium', 'e0000000-0000-4000-8000-000000000004'::uuid)
) as v (name, id)
where p.name = v.name
  and p.id <> v.id
  and not exists (select 1 from public.transactions t where t.package_id = p.id);
alter table public.credit_packages enable trigger record_credit_package_change;
