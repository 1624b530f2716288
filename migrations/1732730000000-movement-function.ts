import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `apply_cp_movement`: a CP issue or redemption of a signed instruction in one statement
 * (docs/ledger.md, "One statement per instruction"). It does in the database what the
 * TypeScript path (src/operations/issue.ts, redeem.ts through the kernel) does in eight to ten
 * round trips: claim the jti, find and lock the member's wallet, find the partner's counter and
 * contract, write the entry, its postings (the balance trigger moves the balances), its lot or
 * its lot consumption first-expiring-first-out, count an issue in the member's earned days and
 * notice a tier change, store the result and write the events. It runs with the caller's rights
 * (the hub's role), so every grant, trigger and check applies as on the TypeScript path, and
 * test/e2e/movement-function.e2e.test.ts runs both paths side by side and compares what they
 * wrote. A jti claimed before answers {"replay": true, …} with the stored instruction. A refusal
 * answers {"refusal": code} before anything is written (the jti stays free), and the hub turns it
 * into its typed result: CH001 unknown member; CH002 insufficient balance ("available"); CH009
 * this instruction needs the TypeScript path (a prepaid or capped partner's issue draws on its
 * funding). Anything else is an error, and the statement's transaction rolls back.
 */
export class MovementFunction1732730000000 implements MigrationInterface {
  name = 'MovementFunction1732730000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      -- The balance trigger (made by the least-privilege migration) books a counter-account's posting on a random
      -- shard of coalition.counter_shards; a transaction that sets coalition.counter_shard books all of its
      -- counter postings on that one shard (a batch: it locks those rows first, in account order, so that two
      -- batches never deadlock on them, and two batches that chose different shards do not wait for each other).
${balanceTrigger(true)}

      CREATE FUNCTION iso_millis(at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      $$;

      -- The outcome stored under a partner's jti, as apply_cp_movement answers a replay; null if the jti is free.
      CREATE FUNCTION replayed_instruction(p_partner_id text, p_jti text) RETURNS jsonb LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object('replay', true, 'op', ins.op, 'requestHash', ins.request_hash, 'receipt', ins.receipt_jws,
                                  'result', ins.result, 'receivedAt', iso_millis(ins.received_at))
        FROM instruction ins WHERE ins.partner_id = p_partner_id AND ins.jti = p_jti
      $$;

      CREATE FUNCTION apply_cp_movement(
        p_op text, p_partner_id text, p_jti text, p_kid text, p_request_hash text, p_request_jws text, p_now timestamptz,
        p_member_ref text, p_amount bigint, p_order_ref text, p_occurred_at timestamptz, p_entry_id uuid,
        p_counter_shards integer, p_tier_names text[], p_tier_thresholds bigint[], p_window_start timestamptz
      ) RETURNS jsonb LANGUAGE plpgsql AS $fn$
      DECLARE
        v_issue constant boolean := p_op = 'issue';
        v_t record;
        v_rates jsonb;
        v_vests timestamptz;
        v_expires timestamptz;
        v_balance bigint;
        v_data jsonb;
        v_event_data jsonb;
        v_left_to_take bigint;
        v_take bigint;
        v_lot_row record;
        v_lot_ids bigint[] := '{}';
        v_lot_takes bigint[] := '{}';
        v_lot_issuers text[] := '{}';
        v_issuers text[] := '{}';
        v_issuer_totals bigint[] := '{}';
        v_position integer;
        v_consumed jsonb;
        v_after_balance bigint;
        v_after_reserved bigint;
        v_in_lots bigint;
        v_earned bigint;
        v_tier_before text;
        v_tier_after text;
        v_i integer;
        v_replay jsonb;
        v_found boolean;
      BEGIN
        IF p_op NOT IN ('issue', 'redeem') OR p_amount <= 0 THEN
          RAISE EXCEPTION 'apply_cp_movement: % of %', p_op, p_amount;
        END IF;
        IF NOT v_issue THEN
          -- A debit locks the wallet in a statement of its own: the next statement's snapshot then sees every
          -- hold, lot and balance committed before the lock was granted.
          PERFORM 1 FROM member_link l
            JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
            JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
          WHERE l.partner_id = p_partner_id AND l.member_ref = p_member_ref FOR UPDATE OF b;
        END IF;
        -- A credit locks the wallet in the statement that reads it (the balance is then read at its latest version).
        SELECT l.member_id, w.id AS wallet_id, c.id AS counter_id, b.balance,
               k.id AS contract_id, k.currency, trim_scale(k.issue_price)::text AS issue_price, trim_scale(k.redeem_price)::text AS redeem_price,
               k.lot_lifetime_months, k.pending_days, k.funding_mode, k.net_debit_cap_minor,
               CASE WHEN v_issue THEN 0 ELSE wallet_reserved(w.id, p_now) END AS reserved
          INTO v_t
          FROM partner p
          JOIN member_link l ON l.partner_id = p.id AND l.member_ref = p_member_ref
          JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
          JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
          JOIN account c ON c.owner_kind = 'partner' AND c.owner_id = p.id AND c.asset = 'CP'
                        AND c.kind = CASE WHEN v_issue THEN 'issuance' ELSE 'redemption' END
          JOIN LATERAL (
            SELECT id, currency, issue_price, redeem_price, lot_lifetime_months, pending_days, funding_mode, net_debit_cap_minor
            FROM partner_contract WHERE partner_id = p.id AND valid_from <= p_now ORDER BY valid_from DESC LIMIT 1
          ) k ON true
          WHERE p.id = p_partner_id
          FOR UPDATE OF b;
        v_found := FOUND;
        -- A jti claimed before answers its stored outcome. Read once the wallet is locked: a copy of this same
        -- instruction still running holds that lock until it commits, and is seen here once it has.
        v_replay := replayed_instruction(p_partner_id, p_jti);
        IF v_replay IS NOT NULL THEN
          RETURN v_replay;
        END IF;
        -- Refusals come before any write, so nothing needs undoing (a batch needs no subtransaction for them).
        IF NOT v_found THEN
          RETURN jsonb_build_object('refusal', 'CH001');
        END IF;
        IF v_issue AND (v_t.funding_mode = 'prepaid' OR v_t.net_debit_cap_minor IS NOT NULL) THEN
          RETURN jsonb_build_object('refusal', 'CH009');
        END IF;
        IF NOT v_issue AND v_t.balance - v_t.reserved < p_amount THEN
          RETURN jsonb_build_object('refusal', 'CH002', 'available', (v_t.balance - v_t.reserved)::text);
        END IF;
        -- The result first (the wallet is locked: its balance and lots cannot move), so that the jti is claimed with it.
        v_rates := jsonb_build_object('contractId', v_t.contract_id::text, 'currency', v_t.currency)
          || CASE WHEN v_issue THEN jsonb_build_object('issuePrice', v_t.issue_price) ELSE jsonb_build_object('redeemPrice', v_t.redeem_price) END;
        IF v_issue THEN
          v_vests := CASE WHEN v_t.pending_days > 0 THEN p_now + v_t.pending_days * interval '24 hours' END;
          -- Whole months in UTC, the day clamped to the month's last (as addMonths in src/ledger/apply-entry.ts).
          v_expires := ((p_now AT TIME ZONE 'UTC') + make_interval(months => v_t.lot_lifetime_months)) AT TIME ZONE 'UTC';
          v_balance := v_t.balance + p_amount;
          v_data := jsonb_build_object(
            'entryId', p_entry_id, 'memberId', v_t.member_id, 'amount', p_amount::text, 'balance', v_balance::text,
            'recordedAt', iso_millis(p_now), 'rates', v_rates, 'asset', 'CP',
            'postings', jsonb_build_array(
              jsonb_build_object('account', 'partner:' || p_partner_id || ':CP:issuance', 'amount', (-p_amount)::text),
              jsonb_build_object('account', 'member:' || v_t.member_id || ':CP:wallet', 'amount', p_amount::text)))
            || CASE WHEN v_vests IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('vestsAt', iso_millis(v_vests)) END;
        ELSE
          -- First-expiring-first-out over the wallet's spendable lots, along the lot_open index; stops once covered.
          v_left_to_take := p_amount;
          FOR v_lot_row IN
            SELECT id, issuer_partner_id, remaining FROM lot
            WHERE account_id = v_t.wallet_id AND remaining > 0 AND (vests_at IS NULL OR vests_at <= p_now) AND expires_at > p_now
            ORDER BY expires_at, issued_at, id
          LOOP
            v_take := least(v_lot_row.remaining, v_left_to_take);
            v_lot_ids := v_lot_ids || v_lot_row.id;
            v_lot_takes := v_lot_takes || v_take;
            v_lot_issuers := v_lot_issuers || v_lot_row.issuer_partner_id;
            v_position := array_position(v_issuers, v_lot_row.issuer_partner_id);
            IF v_position IS NULL THEN
              v_issuers := v_issuers || v_lot_row.issuer_partner_id;
              v_issuer_totals := v_issuer_totals || v_take;
            ELSE
              v_issuer_totals[v_position] := v_issuer_totals[v_position] + v_take;
            END IF;
            v_left_to_take := v_left_to_take - v_take;
            EXIT WHEN v_left_to_take = 0;
          END LOOP;
          IF v_left_to_take > 0 THEN
            RAISE EXCEPTION 'wallet %: lots fall % short of %', v_t.wallet_id, v_left_to_take, p_amount;
          END IF;
          v_balance := v_t.balance - p_amount;
          SELECT coalesce(jsonb_agg(jsonb_build_object('issuerPartnerId', x.issuer, 'amount', x.total::text) ORDER BY x.n), '[]'::jsonb)
            INTO v_consumed FROM unnest(v_issuers, v_issuer_totals) WITH ORDINALITY AS x(issuer, total, n);
          v_data := jsonb_build_object(
            'entryId', p_entry_id, 'memberId', v_t.member_id, 'amount', p_amount::text, 'balance', v_balance::text,
            'recordedAt', iso_millis(p_now), 'rates', v_rates, 'asset', 'CP', 'consumed', v_consumed,
            'postings', jsonb_build_array(
              jsonb_build_object('account', 'member:' || v_t.member_id || ':CP:wallet', 'amount', (-p_amount)::text),
              jsonb_build_object('account', 'partner:' || p_partner_id || ':CP:redemption', 'amount', p_amount::text)));
        END IF;

        -- The jti is claimed now, with the result (one write of the instruction row); if a transaction with the same jti
        -- committed meanwhile, its outcome is the answer. (entry_id's foreign key is checked at commit.)
        INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws, received_at, result, entry_id, member_id)
        VALUES (p_partner_id, p_jti, p_op, p_kid, p_request_hash, p_request_jws, p_now, v_data, p_entry_id, v_t.member_id)
        ON CONFLICT (partner_id, jti) DO NOTHING;
        IF NOT FOUND THEN
          RETURN replayed_instruction(p_partner_id, p_jti);
        END IF;

        PERFORM set_config('coalition.counter_shards', p_counter_shards::text, true);
        INSERT INTO journal_entry (id, type, partner_id, jti, member_id, order_ref, occurred_at, recorded_at, rates, request_hash)
        VALUES (p_entry_id, p_op, p_partner_id, p_jti, v_t.member_id, p_order_ref, p_occurred_at, p_now, v_rates, p_request_hash);

        IF v_issue THEN
          INSERT INTO posting (entry_id, account_id, asset, amount)
          VALUES (p_entry_id, v_t.counter_id, 'CP', -p_amount), (p_entry_id, v_t.wallet_id, 'CP', p_amount);
          INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at, vests_at)
          VALUES (v_t.wallet_id, p_partner_id, p_entry_id, p_amount, p_amount, p_now, v_expires, v_vests);

          -- The member's earned days (src/members/tiers.ts): count the issue, sum the window with the day as it now is.
          WITH counted AS (
            INSERT INTO member_earned_day AS d (member_id, day, earned, first_at, last_at)
            VALUES (v_t.member_id, (p_now AT TIME ZONE 'UTC')::date, p_amount, p_now, p_now)
            ON CONFLICT (member_id, day) DO UPDATE
              SET earned = d.earned + EXCLUDED.earned, first_at = least(d.first_at, EXCLUDED.first_at), last_at = greatest(d.last_at, EXCLUDED.last_at)
            RETURNING d.member_id, d.day, d.earned, d.first_at, d.last_at
          ), days AS (
            SELECT member_id, day, earned, first_at, last_at FROM member_earned_day
            WHERE member_id = v_t.member_id AND day >= (p_window_start AT TIME ZONE 'UTC')::date AND day <= (p_now AT TIME ZONE 'UTC')::date
              AND day <> (p_now AT TIME ZONE 'UTC')::date
            UNION ALL SELECT member_id, day, earned, first_at, last_at FROM counted
          )
          SELECT coalesce(sum(CASE
            WHEN d.first_at > p_window_start AND d.last_at <= p_now THEN d.earned
            WHEN d.last_at <= p_window_start OR d.first_at > p_now THEN 0
            ELSE (SELECT coalesce(sum(CASE WHEN e.type = 'issue' AND e.rates ? 'baseAmount' THEN (e.rates->>'baseAmount')::bigint ELSE po.amount END), 0)
                  FROM journal_entry e
                  JOIN posting po ON po.entry_id = e.id
                  JOIN account a ON a.id = po.account_id AND a.owner_kind = 'member' AND a.owner_id = e.member_id::text AND a.asset = 'CP' AND a.kind = 'wallet'
                  WHERE e.member_id = d.member_id AND e.type IN ('issue', 'reversal')
                    AND e.recorded_at >= d.day::timestamp AT TIME ZONE 'UTC' AND e.recorded_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
                    AND e.recorded_at > p_window_start AND e.recorded_at <= p_now
                    AND (e.type = 'issue' OR EXISTS (SELECT 1 FROM journal_entry o WHERE o.id = e.reverses_entry_id AND o.type = 'issue')))
          END), 0) INTO v_earned FROM days d;
          FOR v_i IN 1 .. coalesce(array_length(p_tier_names, 1), 0) LOOP
            IF v_i = 1 OR v_earned - p_amount >= p_tier_thresholds[v_i] THEN v_tier_before := p_tier_names[v_i]; END IF;
            IF v_i = 1 OR v_earned >= p_tier_thresholds[v_i] THEN v_tier_after := p_tier_names[v_i]; END IF;
          END LOOP;

          -- A tier change is told to every partner the member is enrolled at, before the issue's own event (as the TypeScript path writes them).
          IF v_tier_before IS DISTINCT FROM v_tier_after THEN
            INSERT INTO event (id, type, version, occurred_at, partner_id, member_id, data)
            SELECT gen_random_uuid(), 'tier.changed', 1, p_now, ml.partner_id, v_t.member_id,
                   jsonb_build_object('previousTier', v_tier_before, 'tier', v_tier_after)
            FROM member_link ml WHERE ml.member_id = v_t.member_id ORDER BY ml.partner_id;
          END IF;
          v_event_data := jsonb_build_object('jti', p_jti, 'entryId', p_entry_id, 'asset', 'CP', 'amount', p_amount::text, 'balance', v_balance::text)
            || CASE WHEN p_order_ref IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('orderRef', p_order_ref) END
            || CASE WHEN v_vests IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('vestsAt', iso_millis(v_vests)) END;
          INSERT INTO event (id, type, version, occurred_at, partner_id, member_id, data)
          VALUES (gen_random_uuid(), 'points.issued', 1, p_now, p_partner_id, v_t.member_id, v_event_data);
        ELSE
          INSERT INTO posting (entry_id, account_id, asset, amount)
          VALUES (p_entry_id, v_t.wallet_id, 'CP', -p_amount), (p_entry_id, v_t.counter_id, 'CP', p_amount);
          UPDATE lot SET remaining = remaining - x.take
          FROM unnest(v_lot_ids, v_lot_takes) AS x(id, take) WHERE lot.id = x.id AND lot.account_id = v_t.wallet_id;
          INSERT INTO lot_consumption (lot_id, entry_id, issuer_partner_id, consumer_partner_id, amount, kind)
          SELECT x.id, p_entry_id, x.issuer, p_partner_id, x.take, 'redeem'
          FROM unnest(v_lot_ids, v_lot_issuers, v_lot_takes) WITH ORDINALITY AS x(id, issuer, take, n) ORDER BY x.n;

          -- What the kernel checks after every debit: spendable did not fall below zero, and the wallet's lots hold its balance
          -- (which is the one the result gave).
          SELECT b.balance, wallet_reserved(b.account_id, p_now),
                 (SELECT coalesce(sum(remaining), 0) FROM lot WHERE lot.account_id = b.account_id AND remaining > 0)
            INTO v_after_balance, v_after_reserved, v_in_lots
            FROM account_balance b WHERE b.account_id = v_t.wallet_id AND b.shard = 0;
          IF v_after_balance - v_after_reserved < 0 THEN
            RAISE EXCEPTION 'wallet %: spendable % after a redemption checked against %', v_t.wallet_id, v_after_balance - v_after_reserved,
              v_t.balance - v_t.reserved;
          END IF;
          IF v_in_lots <> v_after_balance OR v_after_balance <> v_balance THEN
            RAISE EXCEPTION 'wallet %: lots hold %, the balance is %, the result says %', v_t.wallet_id, v_in_lots, v_after_balance, v_balance;
          END IF;
          v_event_data := jsonb_build_object('jti', p_jti, 'entryId', p_entry_id, 'asset', 'CP', 'amount', p_amount::text, 'balance', v_balance::text)
            || CASE WHEN p_order_ref IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('orderRef', p_order_ref) END
            || jsonb_build_object('consumed', v_consumed);
          INSERT INTO event (id, type, version, occurred_at, partner_id, member_id, data)
          VALUES (gen_random_uuid(), 'points.redeemed', 1, p_now, p_partner_id, v_t.member_id, v_event_data);
        END IF;

        RETURN jsonb_build_object('replay', false, 'result', v_data);
      END
      $fn$;

      CREATE FUNCTION apply_cp_movement_item(
        p_item jsonb, p_now timestamptz, p_counter_shards integer, p_tier_names text[], p_tier_thresholds bigint[], p_window_start timestamptz
      ) RETURNS jsonb LANGUAGE sql AS $$
        SELECT apply_cp_movement(
          p_item->>'op', p_item->>'partnerId', p_item->>'jti', p_item->>'kid', p_item->>'hash', p_item->>'jws', p_now,
          p_item->>'member', (p_item->>'amount')::bigint, p_item->>'orderRef', (p_item->>'occurredAt')::timestamptz,
          (p_item->>'entryId')::uuid, p_counter_shards, p_tier_names, p_tier_thresholds, p_window_start)
      $$;

      -- A batch's run of movements (docs/batches.md) in one statement, answering one outcome per item applied.
      -- A refusal writes nothing, so items need no subtransaction of their own: an error (a bug, an amount beyond
      -- the ledger's limit) ends the statement, and the hub goes back to its savepoint and sends the run again
      -- with p_isolated, each item then under its own subtransaction ({"failed": SQLSTATE, …} for the one that
      -- failed). Subtransactions are kept for that case: a row locked by the batch and moved by a subtransaction
      -- becomes a multixact, and hundreds of them made a batch several times slower. A deadlock or
      -- serialization failure ends the statement either way (the hub retries the batch's transaction). An item
      -- the function hands back (CH009) ends the run, so that the hub applies it through its operation before
      -- the items after it: the batch's order holds.
      CREATE FUNCTION apply_cp_movements(
        p_items jsonb, p_now timestamptz, p_counter_shards integer, p_tier_names text[], p_tier_thresholds bigint[], p_window_start timestamptz,
        p_isolated boolean
      ) RETURNS jsonb LANGUAGE plpgsql AS $fn$
      DECLARE
        v_item jsonb;
        v_outcomes jsonb := '[]';
        v_outcome jsonb;
        v_state text;
        v_message text;
        v_detail text;
      BEGIN
        FOR v_item IN SELECT e.value FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(value, n) ORDER BY e.n LOOP
          IF NOT p_isolated THEN
            v_outcome := apply_cp_movement_item(v_item, p_now, p_counter_shards, p_tier_names, p_tier_thresholds, p_window_start);
          ELSE
            BEGIN
              v_outcome := apply_cp_movement_item(v_item, p_now, p_counter_shards, p_tier_names, p_tier_thresholds, p_window_start);
            EXCEPTION
              WHEN deadlock_detected OR serialization_failure THEN RAISE;
              WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
                v_outcome := jsonb_build_object('failed', v_state, 'message', v_message, 'detail', v_detail);
            END;
          END IF;
          v_outcomes := v_outcomes || jsonb_build_array(v_outcome);
          EXIT WHEN v_outcome->>'refusal' = 'CH009';
        END LOOP;
        RETURN v_outcomes;
      END
      $fn$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION apply_cp_movements(jsonb, timestamptz, integer, text[], bigint[], timestamptz, boolean);
      DROP FUNCTION apply_cp_movement_item(jsonb, timestamptz, integer, text[], bigint[], timestamptz);
      DROP FUNCTION apply_cp_movement(text, text, text, text, text, text, timestamptz, text, bigint, text, timestamptz, uuid, integer, text[], bigint[], timestamptz);
      DROP FUNCTION replayed_instruction(text, text);
      DROP FUNCTION iso_millis(timestamptz);
${balanceTrigger(false)}
    `);
  }
}

/**
 * The balance trigger's function (made by the least-privilege migration, 1732470001000), with or
 * without the fixed shard this migration adds: `up` installs it with, `down` puts the one before back.
 */
function balanceTrigger(fixedShard: boolean): string {
  return `
      CREATE OR REPLACE FUNCTION posting_apply_to_balances() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
      DECLARE
        shards integer := least(greatest(coalesce(nullif(current_setting('coalition.counter_shards', true), '')::integer, 8), 1), 64);
        ${fixedShard ? "fixed integer := nullif(current_setting('coalition.counter_shard', true), '')::integer;" : ''}
        moved record;
        touched integer;
      BEGIN
        FOR moved IN
          SELECT p.account_id, a.kind, sum(p.amount) AS delta
          FROM new_postings p JOIN public.account a ON a.id = p.account_id
          GROUP BY p.account_id, a.kind HAVING sum(p.amount) <> 0
          ORDER BY p.account_id
        LOOP
          IF moved.kind IN ('wallet', 'prefunding', 'exposure') THEN
            UPDATE public.account_balance SET balance = balance + moved.delta WHERE account_id = moved.account_id AND shard = 0;
            GET DIAGNOSTICS touched = ROW_COUNT;
            IF touched <> 1 THEN
              RAISE EXCEPTION 'account % has no balance row', moved.account_id USING ERRCODE = 'P0001';
            END IF;
          ELSE
            INSERT INTO public.account_balance AS current (account_id, kind, shard, balance)
            VALUES (moved.account_id, moved.kind,
                    (${fixedShard ? 'CASE WHEN fixed IS NULL THEN floor(random() * shards) ELSE abs(fixed) % shards END' : 'floor(random() * shards)'})::smallint,
                    moved.delta)
            ON CONFLICT (account_id, shard) DO UPDATE SET balance = current.balance + EXCLUDED.balance;
          END IF;
        END LOOP;
        RETURN NULL;
      END
      $fn$;`;
}
