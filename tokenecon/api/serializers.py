from rest_framework import serializers

from tokenecon.models import Account, Course, Entry
from tokenecon.services.rates import tokens_to_money


class CourseSerializer(serializers.ModelSerializer):
    teacher = serializers.CharField(source="teacher.external_id", read_only=True)
    teacher_name = serializers.CharField(source="teacher.display_name", read_only=True)

    class Meta:
        model = Course
        fields = [
            "code",
            "title",
            "description",
            "teacher",
            "teacher_name",
            "category",
            "difficulty",
            "duration_hours",
            "certificate_offered",
            "launch_date",
            "price_tokens",
            "status",
        ]


class AccountSerializer(serializers.ModelSerializer):
    balance_money = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "kind", "balance_tokens", "balance_money"]

    def get_balance_money(self, account: Account) -> str:
        return str(tokens_to_money(account.balance_tokens))


class WalletEntrySerializer(serializers.ModelSerializer):
    """One transfer seen from the caller's account: the signed amount that hit it."""

    transfer_id = serializers.IntegerField(source="transfer.id")
    kind = serializers.CharField(source="transfer.kind")
    memo = serializers.CharField(source="transfer.memo")
    created_at = serializers.DateTimeField(source="transfer.created_at")
    enrollment_id = serializers.IntegerField(source="transfer.enrollment_id", allow_null=True)
    account_kind = serializers.CharField(source="account.kind")

    class Meta:
        model = Entry
        fields = [
            "transfer_id",
            "kind",
            "memo",
            "created_at",
            "enrollment_id",
            "account_kind",
            "amount_tokens",
        ]
