export type Json = string | number | boolean | null | {
  [key: string]: Json | undefined;
} | Json[];

export type Database = {
  "public": {
    Tables: {
      "admin_actions": {
        Row: {
          "action": string;
          "admin_id": string | null;
          "created_at": string;
          "details": NonNullable<Json>;
          "id": string;
          "target_id": string;
          "target_type": string;
        };
        ComputedFields: never;
        Insert: {
          "action": string;
          "admin_id"?: string | null;
          "created_at"?: string;
          "details"?: NonNullable<Json>;
          "id"?: string;
          "target_id": string;
          "target_type": string;
        };
        Update: {
          "action"?: string;
          "admin_id"?: string | null;
          "created_at"?: string;
          "details"?: NonNullable<Json>;
          "id"?: string;
          "target_id"?: string;
          "target_type"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "admin_actions_admin_id_fkey";
            columns: ["admin_id"];
            isOneToOne: false;
            referencedRelation: "admins";
            referencedColumns: ["id"];
          },
        ];
      };
      "admins": {
        Row: {
          "created_at": string;
          "email": string | null;
          "id": string;
          "name": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "email"?: string | null;
          "id": string;
          "name": string;
          "updated_at"?: string;
        };
        Update: {
          "created_at"?: string;
          "email"?: string | null;
          "id"?: string;
          "name"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "chat_assignments": {
        Row: {
          "assigned_at": string;
          "chat_id": string;
          "created_at": string;
          "id": string;
          "operator_id": string;
          "release_reason": string | null;
          "released_at": string | null;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "assigned_at"?: string;
          "chat_id": string;
          "created_at"?: string;
          "id"?: string;
          "operator_id": string;
          "release_reason"?: string | null;
          "released_at"?: string | null;
          "updated_at"?: string;
        };
        Update: {
          "assigned_at"?: string;
          "chat_id"?: string;
          "created_at"?: string;
          "id"?: string;
          "operator_id"?: string;
          "release_reason"?: string | null;
          "released_at"?: string | null;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "chat_assignments_chat_id_fkey";
            columns: ["chat_id"];
            isOneToOne: false;
            referencedRelation: "chats";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "chat_assignments_operator_id_fkey";
            columns: ["operator_id"];
            isOneToOne: false;
            referencedRelation: "operators";
            referencedColumns: ["id"];
          },
        ];
      };
      "chat_closures": {
        Row: {
          "actor_id": string | null;
          "chat_id": string;
          "created_at": string;
          "event": string;
          "id": string;
          "reason": string;
        };
        ComputedFields: never;
        Insert: {
          "actor_id"?: string | null;
          "chat_id": string;
          "created_at"?: string;
          "event": string;
          "id"?: string;
          "reason": string;
        };
        Update: {
          "actor_id"?: string | null;
          "chat_id"?: string;
          "created_at"?: string;
          "event"?: string;
          "id"?: string;
          "reason"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "chat_closures_chat_id_fkey";
            columns: ["chat_id"];
            isOneToOne: false;
            referencedRelation: "chats";
            referencedColumns: ["id"];
          },
        ];
      };
      "chats": {
        Row: {
          "close_reason": string | null;
          "closed_at": string | null;
          "created_at": string;
          "fictional_user_id": string;
          "flag_reason": string | null;
          "flagged_for_review": boolean;
          "id": string;
          "language": string;
          "last_message_at": string | null;
          "message_count": number;
          "queued_at": string | null;
          "real_message_count": number;
          "real_user_id": string;
          "reassignment_count": number;
          "status": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "close_reason"?: string | null;
          "closed_at"?: string | null;
          "created_at"?: string;
          "fictional_user_id": string;
          "flag_reason"?: string | null;
          "flagged_for_review"?: boolean;
          "id"?: string;
          "language"?: string;
          "last_message_at"?: string | null;
          "message_count"?: number;
          "queued_at"?: string | null;
          "real_message_count"?: number;
          "real_user_id"?: string;
          "reassignment_count"?: number;
          "status"?: string;
          "updated_at"?: string;
        };
        Update: {
          "close_reason"?: string | null;
          "closed_at"?: string | null;
          "created_at"?: string;
          "fictional_user_id"?: string;
          "flag_reason"?: string | null;
          "flagged_for_review"?: boolean;
          "id"?: string;
          "language"?: string;
          "last_message_at"?: string | null;
          "message_count"?: number;
          "queued_at"?: string | null;
          "real_message_count"?: number;
          "real_user_id"?: string;
          "reassignment_count"?: number;
          "status"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "chats_fictional_user_id_fkey";
            columns: ["fictional_user_id"];
            isOneToOne: false;
            referencedRelation: "fictional_users";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "chats_real_user_id_fkey";
            columns: ["real_user_id"];
            isOneToOne: false;
            referencedRelation: "real_users";
            referencedColumns: ["id"];
          },
        ];
      };
      "credit_adjustments": {
        Row: {
          "balance_after": number;
          "created_at": string;
          "delta": number;
          "id": string;
          "real_user_id": string | null;
          "reason": string;
        };
        ComputedFields: never;
        Insert: {
          "balance_after": number;
          "created_at"?: string;
          "delta": number;
          "id"?: string;
          "real_user_id"?: string | null;
          "reason": string;
        };
        Update: {
          "balance_after"?: number;
          "created_at"?: string;
          "delta"?: number;
          "id"?: string;
          "real_user_id"?: string | null;
          "reason"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "credit_adjustments_real_user_id_fkey";
            columns: ["real_user_id"];
            isOneToOne: false;
            referencedRelation: "real_users";
            referencedColumns: ["id"];
          },
        ];
      };
      "credit_packages": {
        Row: {
          "bonus_credits": number;
          "created_at": string;
          "credits": number;
          "currency": string;
          "id": string;
          "is_active": boolean;
          "name": string;
          "price": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "bonus_credits"?: number;
          "created_at"?: string;
          "credits": number;
          "currency"?: string;
          "id"?: string;
          "is_active"?: boolean;
          "name": string;
          "price": number;
          "updated_at"?: string;
        };
        Update: {
          "bonus_credits"?: number;
          "created_at"?: string;
          "credits"?: number;
          "currency"?: string;
          "id"?: string;
          "is_active"?: boolean;
          "name"?: string;
          "price"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "favorites": {
        Row: {
          "created_at": string;
          "fictional_user_id": string;
          "real_user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "fictional_user_id": string;
          "real_user_id"?: string;
        };
        Update: {
          "created_at"?: string;
          "fictional_user_id"?: string;
          "real_user_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "favorites_fictional_user_id_fkey";
            columns: ["fictional_user_id"];
            isOneToOne: false;
            referencedRelation: "fictional_users";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "favorites_real_user_id_fkey";
            columns: ["real_user_id"];
            isOneToOne: false;
            referencedRelation: "real_users";
            referencedColumns: ["id"];
          },
        ];
      };
      "fictional_user_creators": {
        Row: {
          "created_at": string;
          "created_by": string | null;
          "fictional_user_id": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "created_by"?: string | null;
          "fictional_user_id": string;
        };
        Update: {
          "created_at"?: string;
          "created_by"?: string | null;
          "fictional_user_id"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "fictional_user_creators_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "admins";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "fictional_user_creators_fictional_user_id_fkey";
            columns: ["fictional_user_id"];
            isOneToOne: true;
            referencedRelation: "fictional_users";
            referencedColumns: ["id"];
          },
        ];
      };
      "fictional_user_guidelines": {
        Row: {
          "created_at": string;
          "fictional_user_id": string;
          "personality_guidelines": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "fictional_user_id": string;
          "personality_guidelines"?: string;
          "updated_at"?: string;
        };
        Update: {
          "created_at"?: string;
          "fictional_user_id"?: string;
          "personality_guidelines"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "fictional_user_guidelines_fictional_user_id_fkey";
            columns: ["fictional_user_id"];
            isOneToOne: true;
            referencedRelation: "fictional_users";
            referencedColumns: ["id"];
          },
        ];
      };
      "fictional_users": {
        Row: {
          "age": number;
          "avatar_url": string | null;
          "bio": string | null;
          "created_at": string;
          "created_by": string | null;
          "gender": string;
          "id": string;
          "interests": (string)[];
          "is_active": boolean;
          "is_featured": boolean;
          "language": string;
          "name": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "age": number;
          "avatar_url"?: string | null;
          "bio"?: string | null;
          "created_at"?: string;
          "created_by"?: string | null;
          "gender": string;
          "id"?: string;
          "interests"?: (string)[];
          "is_active"?: boolean;
          "is_featured"?: boolean;
          "language"?: string;
          "name": string;
          "updated_at"?: string;
        };
        Update: {
          "age"?: number;
          "avatar_url"?: string | null;
          "bio"?: string | null;
          "created_at"?: string;
          "created_by"?: string | null;
          "gender"?: string;
          "id"?: string;
          "interests"?: (string)[];
          "is_active"?: boolean;
          "is_featured"?: boolean;
          "language"?: string;
          "name"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "fictional_users_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "admins";
            referencedColumns: ["id"];
          },
        ];
      };
      "message_authors": {
        Row: {
          "created_at": string;
          "message_id": string;
          "operator_id": string | null;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "message_id": string;
          "operator_id"?: string | null;
        };
        Update: {
          "created_at"?: string;
          "message_id"?: string;
          "operator_id"?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "message_authors_message_id_fkey";
            columns: ["message_id"];
            isOneToOne: true;
            referencedRelation: "messages";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "message_authors_operator_id_fkey";
            columns: ["operator_id"];
            isOneToOne: false;
            referencedRelation: "operators";
            referencedColumns: ["id"];
          },
        ];
      };
      "messages": {
        Row: {
          "chat_id": string;
          "content": string;
          "created_at": string;
          "credits_charged": number;
          "id": string;
          "sender_type": string;
        };
        ComputedFields: never;
        Insert: {
          "chat_id": string;
          "content": string;
          "created_at"?: string;
          "credits_charged"?: number;
          "id"?: string;
          "sender_type": string;
        };
        Update: {
          "chat_id"?: string;
          "content"?: string;
          "created_at"?: string;
          "credits_charged"?: number;
          "id"?: string;
          "sender_type"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "messages_chat_id_fkey";
            columns: ["chat_id"];
            isOneToOne: false;
            referencedRelation: "chats";
            referencedColumns: ["id"];
          },
        ];
      };
      "operator_activity": {
        Row: {
          "assigned_at": string;
          "chat_id": string;
          "created_at": string;
          "last_activity_at": string;
          "operator_id": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "assigned_at"?: string;
          "chat_id": string;
          "created_at"?: string;
          "last_activity_at"?: string;
          "operator_id": string;
          "updated_at"?: string;
        };
        Update: {
          "assigned_at"?: string;
          "chat_id"?: string;
          "created_at"?: string;
          "last_activity_at"?: string;
          "operator_id"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "operator_activity_chat_id_fkey";
            columns: ["chat_id"];
            isOneToOne: true;
            referencedRelation: "chats";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "operator_activity_operator_id_fkey";
            columns: ["operator_id"];
            isOneToOne: false;
            referencedRelation: "operators";
            referencedColumns: ["id"];
          },
        ];
      };
      "operator_stats": {
        Row: {
          "avg_response_seconds": number | null;
          "chats_handled": number;
          "created_at": string;
          "first_reply_seconds": number | null;
          "idle_incidents": number;
          "messages_sent": number;
          "operator_id": string;
          "stat_date": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "avg_response_seconds"?: number | null;
          "chats_handled"?: number;
          "created_at"?: string;
          "first_reply_seconds"?: number | null;
          "idle_incidents"?: number;
          "messages_sent"?: number;
          "operator_id": string;
          "stat_date": string;
          "updated_at"?: string;
        };
        Update: {
          "avg_response_seconds"?: number | null;
          "chats_handled"?: number;
          "created_at"?: string;
          "first_reply_seconds"?: number | null;
          "idle_incidents"?: number;
          "messages_sent"?: number;
          "operator_id"?: string;
          "stat_date"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "operator_stats_operator_id_fkey";
            columns: ["operator_id"];
            isOneToOne: false;
            referencedRelation: "operators";
            referencedColumns: ["id"];
          },
        ];
      };
      "operators": {
        Row: {
          "created_at": string;
          "email": string | null;
          "id": string;
          "is_active": boolean;
          "languages": (string)[];
          "last_activity_at": string | null;
          "max_concurrent_chats": number;
          "name": string;
          "status": string;
          "total_messages_sent": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "email"?: string | null;
          "id": string;
          "is_active"?: boolean;
          "languages"?: (string)[];
          "last_activity_at"?: string | null;
          "max_concurrent_chats"?: number;
          "name": string;
          "status"?: string;
          "total_messages_sent"?: number;
          "updated_at"?: string;
        };
        Update: {
          "created_at"?: string;
          "email"?: string | null;
          "id"?: string;
          "is_active"?: boolean;
          "languages"?: (string)[];
          "last_activity_at"?: string | null;
          "max_concurrent_chats"?: number;
          "name"?: string;
          "status"?: string;
          "total_messages_sent"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "payment_disputes": {
        Row: {
          "category": string | null;
          "created_at": string;
          "currency": string | null;
          "event_id": string | null;
          "id": string;
          "paystack_dispute_id": string | null;
          "real_user_id": string | null;
          "reference": string | null;
          "refund_amount": number | null;
          "status": string | null;
          "transaction_id": string | null;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "category"?: string | null;
          "created_at"?: string;
          "currency"?: string | null;
          "event_id"?: string | null;
          "id"?: string;
          "paystack_dispute_id"?: string | null;
          "real_user_id"?: string | null;
          "reference"?: string | null;
          "refund_amount"?: number | null;
          "status"?: string | null;
          "transaction_id"?: string | null;
          "updated_at"?: string;
        };
        Update: {
          "category"?: string | null;
          "created_at"?: string;
          "currency"?: string | null;
          "event_id"?: string | null;
          "id"?: string;
          "paystack_dispute_id"?: string | null;
          "real_user_id"?: string | null;
          "reference"?: string | null;
          "refund_amount"?: number | null;
          "status"?: string | null;
          "transaction_id"?: string | null;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "payment_disputes_event_id_fkey";
            columns: ["event_id"];
            isOneToOne: false;
            referencedRelation: "paystack_events";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "payment_disputes_real_user_id_fkey";
            columns: ["real_user_id"];
            isOneToOne: false;
            referencedRelation: "real_users";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "payment_disputes_transaction_id_fkey";
            columns: ["transaction_id"];
            isOneToOne: false;
            referencedRelation: "transactions";
            referencedColumns: ["id"];
          },
        ];
      };
      "payment_reconciliation_runs": {
        Row: {
          "checked": number;
          "created_at": string;
          "credited": number;
          "error_detail": NonNullable<Json>;
          "errors": number;
          "failed": number;
          "finished_at": string;
          "id": number;
          "started_at": string;
        };
        ComputedFields: never;
        Insert: {
          "checked"?: number;
          "created_at"?: string;
          "credited"?: number;
          "error_detail"?: NonNullable<Json>;
          "errors"?: number;
          "failed"?: number;
          "finished_at"?: string;
          "id"?: never;
          "started_at": string;
        };
        Update: {
          "checked"?: number;
          "created_at"?: string;
          "credited"?: number;
          "error_detail"?: NonNullable<Json>;
          "errors"?: number;
          "failed"?: number;
          "finished_at"?: string;
          "id"?: never;
          "started_at"?: string;
        };
        Relationships: [];
      };
      "paystack_events": {
        Row: {
          "created_at": string;
          "dedupe_key": string;
          "deliveries": number;
          "detail": NonNullable<Json>;
          "event": string;
          "id": string;
          "last_received_at": string;
          "outcome": string;
          "payload": NonNullable<Json>;
          "received_at": string;
          "reference": string | null;
          "source": string;
          "transaction_id": string | null;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "dedupe_key": string;
          "deliveries"?: number;
          "detail"?: NonNullable<Json>;
          "event": string;
          "id"?: string;
          "last_received_at"?: string;
          "outcome": string;
          "payload": NonNullable<Json>;
          "received_at"?: string;
          "reference"?: string | null;
          "source"?: string;
          "transaction_id"?: string | null;
          "updated_at"?: string;
        };
        Update: {
          "created_at"?: string;
          "dedupe_key"?: string;
          "deliveries"?: number;
          "detail"?: NonNullable<Json>;
          "event"?: string;
          "id"?: string;
          "last_received_at"?: string;
          "outcome"?: string;
          "payload"?: NonNullable<Json>;
          "received_at"?: string;
          "reference"?: string | null;
          "source"?: string;
          "transaction_id"?: string | null;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "paystack_events_transaction_id_fkey";
            columns: ["transaction_id"];
            isOneToOne: false;
            referencedRelation: "transactions";
            referencedColumns: ["id"];
          },
        ];
      };
      "real_users": {
        Row: {
          "age": number;
          "avatar_url": string | null;
          "bio": string | null;
          "created_at": string;
          "credits": number;
          "display_name": string;
          "email": string | null;
          "gender": string;
          "id": string;
          "is_active": boolean;
          "last_active_at": string | null;
          "looking_for": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "age": number;
          "avatar_url"?: string | null;
          "bio"?: string | null;
          "created_at"?: string;
          "credits"?: number;
          "display_name": string;
          "email"?: string | null;
          "gender": string;
          "id"?: string;
          "is_active"?: boolean;
          "last_active_at"?: string | null;
          "looking_for": string;
          "updated_at"?: string;
        };
        Update: {
          "age"?: number;
          "avatar_url"?: string | null;
          "bio"?: string | null;
          "created_at"?: string;
          "credits"?: number;
          "display_name"?: string;
          "email"?: string | null;
          "gender"?: string;
          "id"?: string;
          "is_active"?: boolean;
          "last_active_at"?: string | null;
          "looking_for"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "settings": {
        Row: {
          "avatar_url_prefix": string | null;
          "base_price": number;
          "continuity_window": string;
          "created_at": string;
          "early_ends": string;
          "early_factor": number;
          "early_starts": string;
          "featured_factor": number;
          "free_messages": number;
          "id": boolean;
          "idle_timeout": string;
          "inactivity_timeout": string;
          "max_wait": string;
          "night_ends": string;
          "night_factor": number;
          "night_starts": string;
          "presence_timeout": string;
          "timezone": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "avatar_url_prefix"?: string | null;
          "base_price"?: number;
          "continuity_window"?: string;
          "created_at"?: string;
          "early_ends"?: string;
          "early_factor"?: number;
          "early_starts"?: string;
          "featured_factor"?: number;
          "free_messages"?: number;
          "id"?: boolean;
          "idle_timeout"?: string;
          "inactivity_timeout"?: string;
          "max_wait"?: string;
          "night_ends"?: string;
          "night_factor"?: number;
          "night_starts"?: string;
          "presence_timeout"?: string;
          "timezone"?: string;
          "updated_at"?: string;
        };
        Update: {
          "avatar_url_prefix"?: string | null;
          "base_price"?: number;
          "continuity_window"?: string;
          "created_at"?: string;
          "early_ends"?: string;
          "early_factor"?: number;
          "early_starts"?: string;
          "featured_factor"?: number;
          "free_messages"?: number;
          "id"?: boolean;
          "idle_timeout"?: string;
          "inactivity_timeout"?: string;
          "max_wait"?: string;
          "night_ends"?: string;
          "night_factor"?: number;
          "night_starts"?: string;
          "presence_timeout"?: string;
          "timezone"?: string;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "sweeper_status": {
        Row: {
          "created_at": string;
          "id": boolean;
          "last_duration_ms": number;
          "last_flagged": number;
          "last_released": number;
          "last_success_at": string | null;
          "runs": number;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "created_at"?: string;
          "id"?: boolean;
          "last_duration_ms"?: number;
          "last_flagged"?: number;
          "last_released"?: number;
          "last_success_at"?: string | null;
          "runs"?: number;
          "updated_at"?: string;
        };
        Update: {
          "created_at"?: string;
          "id"?: boolean;
          "last_duration_ms"?: number;
          "last_flagged"?: number;
          "last_released"?: number;
          "last_success_at"?: string | null;
          "runs"?: number;
          "updated_at"?: string;
        };
        Relationships: [];
      };
      "transactions": {
        Row: {
          "amount": number;
          "created_at": string;
          "credits": number;
          "credits_reversed": number | null;
          "currency": string;
          "failure_reason": string | null;
          "id": string;
          "package_id": string | null;
          "paid_at": string | null;
          "paystack_transaction_id": number | null;
          "raw_event": Json | null;
          "real_user_id": string | null;
          "reference": string;
          "refund_shortfall": number | null;
          "refunded_amount": number;
          "refunded_at": string | null;
          "status": string;
          "updated_at": string;
        };
        ComputedFields: never;
        Insert: {
          "amount": number;
          "created_at"?: string;
          "credits": number;
          "credits_reversed"?: number | null;
          "currency"?: string;
          "failure_reason"?: string | null;
          "id"?: string;
          "package_id"?: string | null;
          "paid_at"?: string | null;
          "paystack_transaction_id"?: number | null;
          "raw_event"?: Json | null;
          "real_user_id"?: string | null;
          "reference": string;
          "refund_shortfall"?: number | null;
          "refunded_amount"?: number;
          "refunded_at"?: string | null;
          "status"?: string;
          "updated_at"?: string;
        };
        Update: {
          "amount"?: number;
          "created_at"?: string;
          "credits"?: number;
          "credits_reversed"?: number | null;
          "currency"?: string;
          "failure_reason"?: string | null;
          "id"?: string;
          "package_id"?: string | null;
          "paid_at"?: string | null;
          "paystack_transaction_id"?: number | null;
          "raw_event"?: Json | null;
          "real_user_id"?: string | null;
          "reference"?: string;
          "refund_shortfall"?: number | null;
          "refunded_amount"?: number;
          "refunded_at"?: string | null;
          "status"?: string;
          "updated_at"?: string;
        };
        Relationships: [
          {
            foreignKeyName: "transactions_package_id_fkey";
            columns: ["package_id"];
            isOneToOne: false;
            referencedRelation: "credit_packages";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "transactions_real_user_id_fkey";
            columns: ["real_user_id"];
            isOneToOne: false;
            referencedRelation: "real_users";
            referencedColumns: ["id"];
          },
        ];
      };
    };
    Views: {
      [_ in never]: never;
    };
    Functions: {
      "admin_adjust_credits": {
        Args: { "p_delta": number; "p_reason"?: string; "p_user_id": string };
        Returns: Json;
      };
      "admin_clear_flag": { Args: { "p_chat_id": string }; Returns: boolean };
      "admin_reassign_chat": {
        Args: { "p_chat_id": string; "p_operator_id": string };
        Returns: Json;
      };
      "admin_reopen_chat": { Args: { "p_chat_id": string }; Returns: boolean };
      "admin_set_operator_active": {
        Args: { "p_active"?: boolean; "p_operator_id": string };
        Returns: Json;
      };
      "apply_paystack_event": {
        Args: {
          "p_event": string;
          "p_payload": Json;
          "p_reference"?: string;
          "p_source"?: string;
        };
        Returns: Json;
      };
      "assign_chat_to_operator": {
        Args: { "p_operator_id"?: string };
        Returns: string;
      };
      "assign_next_chat": { Args: Record<PropertyKey, never>; Returns: Json };
      "close_chat": { Args: { "p_chat_id": string }; Returns: boolean };
      "get_admin_dashboard": {
        Args: Record<PropertyKey, never>;
        Returns: Json;
      };
      "get_available_fictional_profiles": {
        Args: { "p_limit"?: number; "p_offset"?: number; "p_user_id"?: string };
        Returns: {
          "age": number;
          "avatar_url": string;
          "bio": string;
          "created_at": string;
          "gender": string;
          "id": string;
          "interests": (string)[];
          "is_favorite": boolean;
          "is_featured": boolean;
          "name": string;
        }[];
      };
      "get_chat_with_details": { Args: { "p_chat_id": string }; Returns: Json };
      "get_operator_performance_stats": {
        Args: { "p_days"?: number; "p_operator_id": string };
        Returns: Json;
      };
      "is_admin": { Args: Record<PropertyKey, never>; Returns: boolean };
      "is_operator": { Args: Record<PropertyKey, never>; Returns: boolean };
      "is_real_user": { Args: Record<PropertyKey, never>; Returns: boolean };
      "mark_transaction_failed": {
        Args: { "p_reason": string; "p_reference": string };
        Returns: boolean;
      };
      "message_price": {
        Args: { "p_at"?: string; "p_chat_id": string };
        Returns: number;
      };
      "operator_heartbeat": { Args: { "p_chat_id": string }; Returns: string };
      "payments_to_reconcile": { Args: { "p_limit"?: number }; Returns: Json };
      "record_reconciliation_run": {
        Args: {
          "p_checked": number;
          "p_credited": number;
          "p_errors"?: Json;
          "p_failed": number;
          "p_started_at": string;
        };
        Returns: Json;
      };
      "release_and_reassign_chat": {
        Args: { "p_chat_id": string; "p_reason": string };
        Returns: boolean;
      };
      "send_message": {
        Args: { "p_chat_id": string; "p_content": string };
        Returns: {
          "chat_id": string;
          "content": string;
          "created_at": string;
          "credits_charged": number;
          "id": string;
          "sender_type": string;
        };
        SetofOptions: {
          from: "*";
          to: "messages";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      "settle_payment": {
        Args: { "p_reference": string; "p_transaction": Json };
        Returns: Json;
      };
      "start_chat": {
        Args: { "p_fictional_user_id": string };
        Returns: string;
      };
      "start_checkout": { Args: { "p_package_id": string }; Returns: Json };
      "start_payment_verify": {
        Args: { "p_reference": string };
        Returns: Json;
      };
      "sweep_idle_chats": { Args: Record<PropertyKey, never>; Returns: Json };
      "update_operator_stats": {
        Args: { "p_date"?: string; "p_operator_id": string };
        Returns: {
          "avg_response_seconds": number | null;
          "chats_handled": number;
          "created_at": string;
          "first_reply_seconds": number | null;
          "idle_incidents": number;
          "messages_sent": number;
          "operator_id": string;
          "stat_date": string;
          "updated_at": string;
        };
        SetofOptions: {
          from: "*";
          to: "operator_stats";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
    };
    Enums: {
      [_ in never]: never;
    };
    CompositeTypes: {
      [_ in never]: never;
    };
  };
};

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">;

type DefaultSchema =
  DatabaseWithoutInternals[Extract<keyof Database, "public">];

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof (
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
        "Tables"
      ]
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
        "Views"
      ]
    )
    : never = never,
> = DefaultSchemaTableNameOrOptions extends
  { schema: keyof DatabaseWithoutInternals } ? (
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
      "Tables"
    ]
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
      "Views"
    ]
  )[TableName] extends {
    Row: infer R;
  } ? R
  : never
  : DefaultSchemaTableNameOrOptions extends
    keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[
      DefaultSchemaTableNameOrOptions
    ] extends {
      Row: infer R;
    } ? R
    : never
  : never;

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
      "Tables"
    ]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends
  { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
    "Tables"
  ][TableName] extends {
    Insert: infer I;
  } ? I
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I;
    } ? I
    : never
  : never;

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
      "Tables"
    ]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends
  { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]][
    "Tables"
  ][TableName] extends {
    Update: infer U;
  } ? U
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U;
    } ? U
    : never
  : never;

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]][
      "Enums"
    ]
    : never = never,
> = DefaultSchemaEnumNameOrOptions extends
  { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][
    EnumName
  ]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never;

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[
      PublicCompositeTypeNameOrOptions["schema"]
    ]["CompositeTypes"]
    : never = never,
> = PublicCompositeTypeNameOrOptions extends
  { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]][
    "CompositeTypes"
  ][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends
    keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never;

export const Constants = {
  "public": {
    Enums: {},
  },
} as const;
